from django.urls import path

from audit import api

urlpatterns = [
    path("audit/", api.AuditEventListView.as_view(), name="api-audit"),
    path("audit/verify", api.AuditVerifyView.as_view(), name="api-audit-verify"),
    path("audit/export", api.AuditExportView.as_view(), name="api-audit-export"),
    path("audit/checkpoints", api.AuditCheckpointListView.as_view(), name="api-audit-checkpoints"),
]
