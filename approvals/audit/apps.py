from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "approvals.audit"
    label = "audit"
    verbose_name = "Audit chain"

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import triggers

        connection_created.connect(triggers.allow_test_flush, dispatch_uid="audit_allow_test_flush")

        from . import roles

        roles.connect()

        from registry_ui import hooks

        hooks.after_sync_failure(_audit_sync_failure)


def _audit_sync_failure(*, sync_run_id: int, error: str) -> None:
    """A sync that could not read MLflow is a state change of the mirror's health: it goes on the chain."""
    from registry_ui.models import SyncRun

    from .services import record

    run = SyncRun.objects.filter(pk=sync_run_id).first()
    record(
        actor="system",
        action="sync.failed",
        object_type="sync_run",
        object_id=str(sync_run_id),
        data={"kind": run.kind if run else "", "model": run.model_name if run else "", "error": error[:2000]},
    )
