from django.urls import path

from approvals import policy_views
from audit import views

urlpatterns = [
    path("audit/", views.audit_list, name="audit-list"),
    path("audit/verify/", views.audit_verify, name="audit-verify"),
    path("policy/", policy_views.policy_page, name="policy"),
]
