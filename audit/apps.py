from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    label = "audit"
    verbose_name = "Audit chain"

    def ready(self):
        # Imported here, not at the top: an AppConfig module loads before the models are ready.
        from audit import lockouts, role_changes

        role_changes.connect()
        lockouts.connect()
