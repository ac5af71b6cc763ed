from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals and audit"

    def ready(self):
        from approvals import policy, services
        from mirror import hooks

        policy.validate_on_startup()
        hooks.after_sync(services.on_sync)
        hooks.after_artifacts_read(services.on_artifacts_read)
        hooks.after_card_drafted(services.on_artifacts_read)
