"""Celery tasks: thin and idempotent — take ids, load rows, call one service."""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from common.errors import MlflowNotFound, MlflowUnavailable
from mirror import outbox
from mirror.models import SyncRun
from mirror.reconcile import execute_reconcile
from mirror.services import read_version_artifacts
from mirror.sync import execute_sync


@shared_task(
    name="registry_ui.tasks.run_sync_task", acks_late=True, time_limit=60 * 60, soft_time_limit=55 * 60
)
def run_sync_task(sync_run_id: int) -> None:
    execute_sync(sync_run_id)


@shared_task(name="registry_ui.tasks.reconcile_registry", acks_late=True, time_limit=60 * 60)
def reconcile_registry() -> None:
    """Periodic (RECONCILE_INTERVAL_SECONDS): the incremental reconcile, what changed since the watermark
    (stage moves, edits, aliases, deletions, drift; mirror.reconcile)."""
    if _mark_lost_and_check_busy([SyncRun.Kind.RECONCILE, SyncRun.Kind.SWEEP, SyncRun.Kind.FULL]):
        return  # one is already on its way; do not pile up reconciles behind a slow MLflow
    execute_reconcile(SyncRun.objects.create(kind=SyncRun.Kind.RECONCILE).pk)


@shared_task(name="registry_ui.tasks.sweep_registry", acks_late=True, time_limit=60 * 60)
def sweep_registry() -> None:
    """Periodic (RECONCILE_FULL_SWEEP_SECONDS): the full sweep, a full read that catches what the incremental
    reconcile cannot see (version tags without their webhook, metrics logged to ended runs) and resets the
    watermark."""
    if _mark_lost_and_check_busy([SyncRun.Kind.SWEEP, SyncRun.Kind.FULL]):
        return
    execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.SWEEP).pk)


def _mark_lost_and_check_busy(kinds: list[str]) -> bool:
    """Mark failed the syncs whose worker was lost; True when a sync of these kinds is already on its way."""
    now = timezone.now()
    # A sync still "running" past the task's hard time limit lost its worker: say so, so it neither
    # shows as running forever nor blocks the reconciles below.
    SyncRun.objects.filter(
        status=SyncRun.Status.RUNNING,
        started_at__lt=now - timezone.timedelta(minutes=settings.SYNC_LOST_AFTER_MINUTES),
    ).update(status=SyncRun.Status.FAILED, finished_at=now, error="The worker running this sync was lost.")
    return SyncRun.objects.filter(
        kind__in=kinds,
        status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING],
        queued_at__gte=now - timezone.timedelta(minutes=10),
    ).exists()


@shared_task(
    name="registry_ui.tasks.read_version_artifacts_task",
    acks_late=True,
    autoretry_for=(MlflowUnavailable,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=10,
    time_limit=15 * 60,
    soft_time_limit=14 * 60,
)
def read_version_artifacts_task(model_version_ids: list[int] | int) -> None:
    """Read the artifact facts of a batch of new versions (one message per ARTIFACT_BATCH, not per version:
    a first full sync of thousands of versions would otherwise spend seconds just enqueueing).
    Idempotent: a version already read is skipped, so a retry after MLflow came back redoes only the rest."""
    ids = [model_version_ids] if isinstance(model_version_ids, int) else list(model_version_ids)
    for pk in ids:
        try:
            read_version_artifacts(model_version_id=pk)
        except MlflowNotFound:
            continue  # deleted meanwhile; the reconcile marks it


# A write to MLflow queued by mirror.outbox: acknowledged once done (a lost worker's message is delivered again),
# at most five minutes; a deadlock or serialization failure (PostgreSQL choosing a victim) is simply run again.
_WRITE = {
    "acks_late": True,
    "time_limit": 5 * 60,
    "soft_time_limit": 4 * 60,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "max_retries": 8,
}


@shared_task(name="registry_ui.tasks.apply_mlflow_write_task", **_WRITE)
def apply_mlflow_write_task(write_id: int) -> str:
    """Apply one queued MLflow write; while MLflow is down it re-enqueues itself with backoff. The beat sweep
    (`sweep_mlflow_writes_task`) is the safety net for a lost message or a worker that died mid-way."""
    outcome, retry_in = outbox.apply(write_id=write_id)
    if retry_in is not None:
        apply_mlflow_write_task.apply_async((write_id,), countdown=retry_in)
    return outcome


@shared_task(name="registry_ui.tasks.sweep_mlflow_writes_task", acks_late=True, time_limit=5 * 60)
def sweep_mlflow_writes_task() -> int:
    return len(outbox.sweep())
