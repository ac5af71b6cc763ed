from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals and audit"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from registry_ui import hooks

        from . import policy, services

        policy.validate_on_startup()
        hooks.after_sync(services.on_sync)
        hooks.after_artifacts_read(services.on_artifacts_read)
        user_logged_in.connect(_remember_login_time, dispatch_uid="approvals_login_at")


def _remember_login_time(sender, request, user, **kwargs):
    """A login under 5 minutes old counts as re-authentication for a signature."""
    from django.utils import timezone

    from .services import SESSION_LOGIN_KEY

    if request is not None and hasattr(request, "session"):
        request.session[SESSION_LOGIN_KEY] = timezone.now().timestamp()
