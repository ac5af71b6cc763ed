"""How a sync run (full, targeted, sweep or reconcile) is claimed and how it ends: the row's status and counts,
then the follow-up work (artifact facts of new versions, other apps' hooks), or the failure hooks. One place for
both `mirror.sync.execute_sync` and `mirror.reconcile.execute_reconcile`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils import timezone

from common import queue
from mirror import hooks
from mirror.models import SyncRun

log = logging.getLogger(__name__)

READ_ARTIFACTS_TASK = "registry_ui.tasks.read_version_artifacts_task"
ARTIFACT_BATCH = 200


@dataclass(frozen=True)
class ReadCounts:
    """What a run read from MLflow, and the watermark it establishes (None: it read only part of the registry)."""

    models: int
    versions: int
    runs: int
    watermark_ms: int | None


def claim(sync_run_id: int) -> bool:
    """Move a queued run to running; False when another call already took it (a task delivered twice)."""
    return bool(
        SyncRun.objects.filter(pk=sync_run_id, status=SyncRun.Status.QUEUED).update(
            status=SyncRun.Status.RUNNING, started_at=timezone.now()
        )
    )


def failed(sync_run_id: int, error: Exception) -> SyncRun:
    """The run could not read MLflow (or MLflow refused): record why, then the failure hooks."""
    log.warning("sync %s failed: %s", sync_run_id, error)
    SyncRun.objects.filter(pk=sync_run_id).update(
        status=SyncRun.Status.FAILED, finished_at=timezone.now(), error=str(error)[:2000]
    )
    hooks.run_after_sync_failure(sync_run_id=sync_run_id, error=str(error))
    return SyncRun.objects.get(pk=sync_run_id)


def succeeded(sync_run_id: int, read: ReadCounts, result) -> SyncRun:
    """The run applied `result` (a `mirror.sync.ApplyResult`): record its counts, then the follow-up work."""
    SyncRun.objects.filter(pk=sync_run_id).update(
        status=SyncRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
        progress=100,
        models_read=read.models,
        versions_read=read.versions,
        runs_read=read.runs,
        created=result.created,
        updated=result.updated,
        deleted=result.deleted,
        watermark_ms=read.watermark_ms,
    )
    after_success(sync_run_id, result)
    return SyncRun.objects.get(pk=sync_run_id)


def after_success(sync_run_id: int, result) -> None:
    """Follow-up work for what the sync changed: artifact facts of new versions, and the hooks of other
    apps (drift detection, card drafting) registered in `mirror.hooks`."""
    ids = result.new_version_ids
    for start in range(0, len(ids), ARTIFACT_BATCH):
        queue.task(READ_ARTIFACTS_TASK).delay(ids[start : start + ARTIFACT_BATCH])
    hooks.run_after_sync(sync_run_id=sync_run_id, result=result)
