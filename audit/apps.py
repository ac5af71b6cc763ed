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

        from mirror import hooks

        hooks.after_sync_failure(_audit_sync_failure)


def _audit_sync_failure(*, sync_run_id: int, error: str) -> None:
    """A sync that could not read MLflow is a state change of the mirror's health: it goes on the chain."""
    from audit.services import record
    from mirror.models import SyncRun

    run = SyncRun.objects.filter(pk=sync_run_id).first()
    record(
        actor="system",
        action="sync.failed",
        object_type="sync_run",
        object_id=str(sync_run_id),
        data={"kind": run.kind if run else "", "model": run.model_name if run else "", "error": error[:2000]},
    )
