from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    label = "audit"
    verbose_name = "Audit chain"

    def ready(self):
        from django.db.backends.signals import connection_created

        from audit import triggers

        connection_created.connect(triggers.allow_test_flush, dispatch_uid="audit_allow_test_flush")

        from audit import role_changes

        role_changes.connect()
