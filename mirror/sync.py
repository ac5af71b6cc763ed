"""MLflow → mirror: the one idempotent upsert behind the full sync, the webhook path and the reconcile.

A sync reads everything in its scope from MLflow first (the gateway), then writes it in one transaction:
either the whole snapshot lands or nothing does, so an MLflow error mid-read leaves the mirror as it was.
Rows are compared field by field and only changed rows are written; rows missing from a complete read
are marked deleted (kept, so governance records that name them stay readable).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from audit.services import record
from common import queue
from common.errors import MlflowNotFound, MlflowRejected, MlflowUnavailable
from mirror import gateway, hooks
from mirror.identities import IdentityWatch
from mirror.logged_models import apply_logged_models
from mirror.models import IdentityChange, ModelVersion, RegisteredModel, Run, SyncRun
from mirror.watermark import snapshot_watermark

log = logging.getLogger(__name__)

MODEL_FIELDS = ["description", "tags", "aliases", "creation_timestamp", "last_updated_timestamp"]
VERSION_FIELDS = [
    "stage",
    "status",
    "status_message",
    "aliases",
    "tags",
    "description",
    "source",
    "run_id",
    "logged_model_id",
    "source_run_id",
    "creator",
    "creation_timestamp",
    "last_updated_timestamp",
]
RUN_FIELDS = [
    "experiment_id",
    "run_name",
    "status",
    "user_id",
    "first_mlflow_user",
    "start_time",
    "end_time",
    "artifact_uri",
    "metrics",
    "params",
    "tags",
    "datasets",
]


def ms_to_dt(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms is not None else None


@dataclass
class ApplyResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    new_version_ids: list[int] = field(default_factory=list)
    touched_models: set[str] = field(default_factory=set)
    identity_changes: list[int] = field(default_factory=list)  # IdentityChange ids recorded by this sync


def _model_values(m: gateway.MlflowModel) -> dict:
    return {
        "description": m.description,
        "tags": m.tags,
        "aliases": m.aliases,
        "creation_timestamp": ms_to_dt(m.creation_timestamp),
        "last_updated_timestamp": ms_to_dt(m.last_updated_timestamp),
    }


def _run_values(r: gateway.MlflowRun) -> dict:
    return {
        "experiment_id": r.experiment_id,
        "run_name": r.run_name,
        "status": r.status,
        "user_id": r.user_id,
        "first_mlflow_user": (r.tags.get("mlflow.user") or "")[:256],
        "start_time": ms_to_dt(r.start_time),
        "end_time": ms_to_dt(r.end_time),
        "artifact_uri": r.artifact_uri,
        "metrics": r.metrics,
        "params": r.params,
        "tags": r.tags,
        "datasets": r.datasets,
    }


def _version_values(v: gateway.MlflowVersion, run_pk: int | None) -> dict:
    return {
        "stage": v.stage,
        "status": v.status,
        "status_message": v.status_message,
        "aliases": v.aliases,
        "tags": v.tags,
        "description": v.description,
        "source": v.source,
        "run_id": v.run_id,
        "logged_model_id": v.model_id,
        "source_run_id": run_pk,
        "creator": v.user_id,
        "creation_timestamp": ms_to_dt(v.creation_timestamp),
        "last_updated_timestamp": ms_to_dt(v.last_updated_timestamp),
    }


@transaction.atomic
def apply_snapshot(snapshot: gateway.RegistrySnapshot) -> ApplyResult:
    """Write one complete read of MLflow into the mirror. Idempotent: a second call changes nothing."""
    now = timezone.now()
    result = ApplyResult()
    identities = IdentityWatch(now)
    model_ids = _apply_models(snapshot, now, result)
    run_pks = _apply_runs(snapshot, now, identities, result)
    created, updated = apply_logged_models(snapshot, now)
    result.created, result.updated = result.created + created, result.updated + updated
    _apply_versions(snapshot, now, model_ids, run_pks, identities, result)
    result.identity_changes = identities.record()
    _refresh_model_counts(model_ids.values())
    scoped = RegisteredModel.objects.filter(pk__in=list(model_ids.values()), deleted_at__isnull=True)
    scoped.update(synced_at=now)
    return result


def _apply_models(snapshot: gateway.RegistrySnapshot, now: datetime, result: ApplyResult) -> dict[str, int]:
    """Registered models: created, changed, or marked deleted when a complete read misses them.
    Returns {name: pk} of every model in scope."""
    scope = snapshot.scope_model
    model_rows = RegisteredModel.objects.select_for_update()
    if scope is not None:
        model_rows = model_rows.filter(name=scope)
    existing_models = {m.name: m for m in model_rows}
    seen_models = set()
    new_models, changed_models = [], []
    for m in snapshot.models:
        seen_models.add(m.name)
        values = _model_values(m)
        row = existing_models.get(m.name)
        if row is None:
            row = RegisteredModel(name=m.name, synced_at=now, **values)
            new_models.append(row)
        elif _set_changed(row, values) or row.deleted_at is not None:
            row.deleted_at = None
            changed_models.append(row)
    RegisteredModel.objects.bulk_create(new_models, batch_size=500)
    if changed_models:
        RegisteredModel.objects.bulk_update(changed_models, [*MODEL_FIELDS, "deleted_at"], batch_size=500)
    gone_models = _mark_gone(RegisteredModel, existing_models, seen_models, now)
    result.created += len(new_models)
    result.updated += len(changed_models)
    result.deleted += len(gone_models)
    result.touched_models |= {r.name for r in new_models + changed_models + gone_models}
    model_ids = {row.name: row.pk for row in [*existing_models.values(), *new_models]}
    return model_ids


def _apply_runs(
    snapshot: gateway.RegistrySnapshot, now: datetime, identities: IdentityWatch, result: ApplyResult
) -> dict[str, int]:
    """Source runs (shared by versions; never deleted here: a run outlives a version that used it).
    Returns {run_id: pk} of every run read."""
    existing_runs = {r.run_id: r for r in Run.objects.filter(run_id__in=list(snapshot.runs))}
    new_runs, changed_runs = [], []
    for run_id, r in snapshot.runs.items():
        values = _run_values(r)
        row = existing_runs.get(run_id)
        if row is None:
            new_runs.append(Run(run_id=run_id, synced_at=now, **values))
            continue
        values["user_id"] = identities.keep_first(
            IdentityChange.Field.RUN_USER_ID, row, row.user_id, r.user_id
        )
        values["first_mlflow_user"] = identities.keep_first(
            IdentityChange.Field.RUN_MLFLOW_USER, row, row.first_mlflow_user, values["first_mlflow_user"]
        )
        if _set_changed(row, values):
            row.synced_at = now
            changed_runs.append(row)
    Run.objects.bulk_create(new_runs, batch_size=500)
    if changed_runs:
        Run.objects.bulk_update(changed_runs, [*RUN_FIELDS, "synced_at"], batch_size=500)
    result.created += len(new_runs)
    result.updated += len(changed_runs)
    run_pks = {r.run_id: r.pk for r in [*existing_runs.values(), *new_runs]}
    # Pks bulk_create did not give (some backends) and runs this read did not fetch (a reconcile's): mirrored.
    unlinked = (set(snapshot.runs) | {v.run_id for v in snapshot.versions if v.run_id}) - run_pks.keys()
    if unlinked:
        run_pks.update(Run.objects.filter(run_id__in=list(unlinked)).values_list("run_id", "pk"))
    return run_pks


def _apply_versions(
    snapshot: gateway.RegistrySnapshot,
    now: datetime,
    model_ids: dict[str, int],
    run_pks: dict[str, int],
    identities: IdentityWatch,
    result: ApplyResult,
) -> None:
    """Model versions: created, changed, or marked deleted when a complete read misses them."""
    scope = snapshot.scope_model
    version_rows = ModelVersion.objects.all()
    if scope is not None:
        version_rows = version_rows.filter(model__name=scope)
    existing_versions = {(v.model_id, v.version): v for v in version_rows}
    seen_versions = set()
    new_versions, changed_versions = [], []
    for v in snapshot.versions:
        model_pk = model_ids.get(v.name)
        if model_pk is None:  # a version whose model vanished between the two reads; next sync has it
            continue
        key = (model_pk, v.version)
        seen_versions.add(key)
        values = _version_values(v, run_pks.get(v.run_id))
        row = existing_versions.get(key)
        if row is None:
            new_versions.append(ModelVersion(model_id=model_pk, version=v.version, synced_at=now, **values))
            continue
        values["creator"] = (
            identities.keep_first(IdentityChange.Field.VERSION_USER_ID, row, row.creator, v.user_id) or None
        )
        if _set_changed(row, values) or row.deleted_at is not None:
            row.deleted_at = None
            row.synced_at = now
            changed_versions.append(row)
    ModelVersion.objects.bulk_create(new_versions, batch_size=500)
    if changed_versions:
        ModelVersion.objects.bulk_update(
            changed_versions, [*VERSION_FIELDS, "deleted_at", "synced_at"], batch_size=500
        )
    gone_versions = _mark_gone(ModelVersion, existing_versions, seen_versions, now)
    result.created += len(new_versions)
    result.updated += len(changed_versions)
    result.deleted += len(gone_versions)
    name_by_pk = {pk: name for name, pk in model_ids.items()}
    result.touched_models |= {
        name_by_pk.get(r.model_id, "") for r in new_versions + changed_versions + gone_versions
    }
    result.touched_models.discard("")
    if new_versions:
        result.new_version_ids = list(
            ModelVersion.objects.filter(
                model_id__in={r.model_id for r in new_versions}, version__in={r.version for r in new_versions}
            )
            .filter(deleted_at__isnull=True, artifacts_read_at__isnull=True)
            .values_list("pk", flat=True)
        )


def _set_changed(row, values: dict) -> bool:
    """Set `values` on the row when any differs from it (compared field by field); True when it did."""
    if not any(getattr(row, k) != v for k, v in values.items()):
        return False
    for k, v in values.items():
        setattr(row, k, v)
    return True


def _mark_gone(model_class, existing: dict, seen: set, now: datetime) -> list:
    """Mark deleted (kept, not removed) the live rows of `existing` that the complete read did not see."""
    gone = [row for key, row in existing.items() if key not in seen and row.deleted_at is None]
    for row in gone:
        row.deleted_at = now
    if gone:
        model_class.objects.bulk_update(gone, ["deleted_at"], batch_size=500)
    return gone


def _refresh_model_counts(model_pks) -> None:
    """Denormalise version_count and latest_version from the live versions (one query + changed rows)."""
    from django.db.models import Count, Max, Q

    stats = (
        RegisteredModel.objects.filter(pk__in=list(model_pks))
        .annotate(
            live_count=Count("versions", filter=Q(versions__deleted_at__isnull=True)),
            live_latest=Max("versions__version", filter=Q(versions__deleted_at__isnull=True)),
        )
        .only("pk", "version_count", "latest_version")
    )
    changed = []
    for row in stats:
        if row.version_count != row.live_count or row.latest_version != row.live_latest:
            row.version_count, row.latest_version = row.live_count, row.live_latest
            changed.append(row)
    if changed:
        RegisteredModel.objects.bulk_update(changed, ["version_count", "latest_version"], batch_size=500)


# --- running a sync -------------------------------------------------------------------------------
# mirror.tasks imports this module (its tasks run syncs): the tasks are enqueued by name (`common.queue`).
RUN_SYNC_TASK = "registry_ui.tasks.run_sync_task"
READ_ARTIFACTS_TASK = "registry_ui.tasks.read_version_artifacts_task"
ProgressSink = Callable[[str, int, int | None], None]


def start_sync(
    *, kind: str, model_name: str = "", version: int | None = None, requested_by: str = ""
) -> SyncRun:
    """Queue a sync run (a row) and enqueue its task when the transaction commits."""
    fields = {"kind": kind, "model_name": model_name, "version": version, "requested_by": requested_by}
    sync_run = SyncRun.objects.create(**fields)
    rows = SyncRun.objects.filter(pk=sync_run.pk, status=SyncRun.Status.QUEUED)  # failed: broker down
    queue.send_on_commit(RUN_SYNC_TASK, sync_run.pk, refused=queue.mark_refused(rows, status="failed"))
    return sync_run


def execute_sync(sync_run_id: int, progress: ProgressSink | None = None) -> SyncRun:
    """Run a queued sync: read MLflow, apply, record counts. Safe to call twice (second call is a no-op)."""
    claimed = SyncRun.objects.filter(pk=sync_run_id, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.RUNNING, started_at=timezone.now()
    )
    sync_run = SyncRun.objects.get(pk=sync_run_id)
    if not claimed:
        return sync_run
    last_write = [0.0]

    def on_progress(phase: str, done: int, total: int | None) -> None:
        if progress:
            progress(phase, done, total)
        now = time.monotonic()
        if total and now - last_write[0] > 1.0:
            last_write[0] = now
            # reading models/versions ≈ first 30 %, runs the next 60 %, writing the last 10 %.
            pct = 30 + int(60 * done / total) if phase == "runs" else 10
            SyncRun.objects.filter(pk=sync_run_id).update(progress=min(pct, 90))

    try:
        if sync_run.kind == SyncRun.Kind.WEBHOOK and sync_run.model_name:
            snapshot = gateway.read_model(sync_run.model_name)
        else:
            snapshot = gateway.read_registry(on_progress)
        if progress:
            progress("write", 0, None)
        result = apply_snapshot(snapshot)
    except (MlflowUnavailable, MlflowRejected, MlflowNotFound) as exc:
        log.warning("sync %s failed: %s", sync_run_id, exc)
        SyncRun.objects.filter(pk=sync_run_id).update(
            status=SyncRun.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
        _after_sync_failure(sync_run_id, str(exc))
        return SyncRun.objects.get(pk=sync_run_id)
    SyncRun.objects.filter(pk=sync_run_id).update(
        status=SyncRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
        progress=100,
        models_read=len(snapshot.models),
        versions_read=len(snapshot.versions),
        runs_read=len(snapshot.runs),
        created=result.created,
        updated=result.updated,
        deleted=result.deleted,
        watermark_ms=None if snapshot.scope_model is not None else snapshot_watermark(snapshot),
    )
    _after_sync_success(sync_run_id, result)
    return SyncRun.objects.get(pk=sync_run_id)


ARTIFACT_BATCH = 200


def _after_sync_success(sync_run_id: int, result: ApplyResult) -> None:
    """Follow-up work for what the sync changed: artifact facts of new versions, and the hooks of other
    apps (drift detection, card drafting) registered in `mirror.hooks`."""
    ids = result.new_version_ids
    for start in range(0, len(ids), ARTIFACT_BATCH):
        queue.task(READ_ARTIFACTS_TASK).delay(ids[start : start + ARTIFACT_BATCH])
    hooks.run_after_sync(sync_run_id=sync_run_id, result=result)


def _after_sync_failure(sync_run_id: int, error: str) -> None:
    hooks.run_after_sync_failure(sync_run_id=sync_run_id, error=error)


def record_sync_failure(*, sync_run_id: int, error: str) -> None:
    """after_sync_failure hook: a sync that could not read MLflow is a state change of the mirror's health,
    so it goes on the audit chain."""
    run = SyncRun.objects.filter(pk=sync_run_id).first()
    record(
        actor="system",
        action="sync.failed",
        object_type="sync_run",
        object_id=str(sync_run_id),
        data={"kind": run.kind if run else "", "model": run.model_name if run else "", "error": error[:2000]},
    )
