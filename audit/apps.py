from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    label = "audit"
    verbose_name = "Audit chain"

    def ready(self):
        # Imported here, not at the top: an AppConfig module loads before the models are ready.
        from django.db.backends.signals import connection_created

        from audit import role_changes, triggers

        connection_created.connect(triggers.allow_test_flush, dispatch_uid="audit_allow_test_flush")
        role_changes.connect()
