from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "approvals.audit"
    label = "audit"
    verbose_name = "Audit chain"
