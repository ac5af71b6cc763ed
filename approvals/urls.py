from django.urls import path

from approvals import evidence_views, sso_signing, views

app_name = "approvals"

urlpatterns = [
    path("promotions/", views.promotion_list, name="promotion-list"),
    path(
        "promotions/request/<str:name>/<int:version>/", views.promotion_request_view, name="promotion-request"
    ),
    path("promotions/<int:pk>/", views.promotion_detail, name="promotion-detail"),
    path("promotions/<int:pk>/gates/", views.promotion_gates, name="promotion-gates"),
    path("promotions/<int:pk>/sign/", views.promotion_sign, name="promotion-sign"),
    path("promotions/sso-sign/callback/", sso_signing.callback, name="sso-sign-callback"),
    path("promotions/<int:pk>/cancel/", views.promotion_cancel, name="promotion-cancel"),
    path("promotions/<int:pk>/recheck/", views.promotion_recheck, name="promotion-recheck"),
    path("models/<str:name>/history/", views.model_history, name="model-history"),
    path("models/<str:name>/rollback/", views.rollback_request_view, name="rollback-request"),
    path("models/<str:name>/adopt/", views.holder_adopt_view, name="holder-adopt"),
    path("drift/", views.drift_list, name="drift-list"),
    path("evidence/", evidence_views.evidence_page, name="evidence"),
    path("evidence/<int:pk>/", evidence_views.evidence_detail, name="evidence-detail"),
    path("evidence/<int:pk>/download/", evidence_views.evidence_download, name="evidence-download"),
]
