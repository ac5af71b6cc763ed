"""MLflow → mirror: the one idempotent upsert behind the full sync, the webhook path and the reconcile.

A sync reads everything in its scope from MLflow first (the gateway), then writes it in one transaction:
either the whole snapshot lands or nothing does, so an MLflow error mid-read leaves the mirror as it was. A full
sync on PostgreSQL writes while it reads (`apply_stream`), in the one transaction all the same.
Rows are compared field by field and only changed rows are written; rows missing from a complete read
are marked deleted (kept, so governance records that name them stay readable).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, connections, transaction
from django.utils import timezone

from audit.services import record
from common import queue
from common.errors import MlflowNotFound, MlflowRejected, MlflowUnavailable
from common.prefetch import prefetched
from mirror import gateway, gateway_stream, sync_outcome
from mirror.identities import IdentityWatch
from mirror.logged_models import apply_logged_models
from mirror.mlflow_data import RegistrySnapshot
from mirror.models import IdentityChange, RegisteredModel, Run, SyncRun
from mirror.sync_values import MODEL_FIELDS, RUN_FIELDS, model_values, run_values
from mirror.sync_versions import VersionUpsert, mark_gone, set_changed
from mirror.watermark import snapshot_watermark


@dataclass
class ApplyResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    new_version_ids: list[int] = field(default_factory=list)
    touched_models: set[str] = field(default_factory=set)
    identity_changes: list[int] = field(default_factory=list)  # IdentityChange ids recorded by this sync


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


@transaction.atomic
def apply_stream(pieces: Iterable[RegistrySnapshot]) -> tuple[RegistrySnapshot, ApplyResult]:
    """`apply_snapshot` of a complete read that arrives in pieces (`gateway_stream.iter_registry`: the models with
    every version first, then chunks of logged models, then chunks of runs), written as they come: the models at
    once (taking the same row locks `apply_snapshot` takes first, now held for the rest of the read), each chunk
    of logged models, each chunk of runs with the versions of those runs, and at the end the versions whose run
    was not read. The one transaction spans the read, so it is all or nothing as well: an error mid-read rolls
    every piece back. Returns the merged snapshot and the same result `apply_snapshot` of it would."""
    now = timezone.now()
    result = ApplyResult()
    identities = IdentityWatch(now)
    snapshot = RegistrySnapshot()
    model_ids: dict[str, int] = {}
    versions: VersionUpsert | None = None
    waiting: dict[str, list] = {}  # versions by run id, until their run has been read
    run_pks: dict[str, int] = {}
    for piece in pieces:
        if versions is None:  # the first piece: every model and version
            snapshot.models, snapshot.versions = piece.models, piece.versions
            model_ids = _apply_models(snapshot, now, result)
            versions = VersionUpsert(None, now, model_ids, identities, result)
            for v in piece.versions:
                waiting.setdefault(v.run_id, []).append(v)
        if piece.logged_models:
            snapshot.logged_models.update(piece.logged_models)
            created, updated = apply_logged_models(piece, now)
            result.created, result.updated = result.created + created, result.updated + updated
        if piece.runs:
            snapshot.runs.update(piece.runs)
            run_pks.update(_apply_runs(piece, now, identities, result))
            versions.write([v for run_id in piece.runs for v in waiting.pop(run_id, ())], run_pks)
    if versions is None:
        raise MlflowUnavailable("MLflow's registry read ended before its first answer")
    # Versions whose run this read did not fetch: linked to the mirrored run, if any (as `_apply_runs` links them).
    if unread := [run_id for run_id in waiting if run_id and run_id not in run_pks]:
        run_pks.update(Run.objects.filter(run_id__in=unread).values_list("run_id", "pk"))
    versions.write([v for run_versions in waiting.values() for v in run_versions], run_pks)
    versions.finish()
    result.identity_changes = identities.record()
    _refresh_model_counts(model_ids.values())
    RegisteredModel.objects.filter(pk__in=list(model_ids.values()), deleted_at__isnull=True).update(
        synced_at=now
    )
    return snapshot, result


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
        values = model_values(m)
        row = existing_models.get(m.name)
        if row is None:
            row = RegisteredModel(name=m.name, synced_at=now, **values)
            new_models.append(row)
        elif set_changed(row, values) or row.deleted_at is not None:
            row.deleted_at = None
            changed_models.append(row)
    RegisteredModel.objects.bulk_create(new_models, batch_size=500)
    if changed_models:
        RegisteredModel.objects.bulk_update(changed_models, [*MODEL_FIELDS, "deleted_at"], batch_size=500)
    gone_models = mark_gone(RegisteredModel, existing_models, seen_models, now)
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
        values = run_values(r)
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
        if set_changed(row, values):
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
    versions = VersionUpsert(snapshot.scope_model, now, model_ids, identities, result)
    versions.write(snapshot.versions, run_pks)
    versions.finish()


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
    claimed = sync_outcome.claim(sync_run_id)
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
        snapshot, result = _read_and_apply(sync_run, on_progress, progress)
    except (MlflowUnavailable, MlflowRejected, MlflowNotFound) as exc:
        return sync_outcome.failed(sync_run_id, exc)
    whole = snapshot.scope_model is None
    read = sync_outcome.ReadCounts(
        models=len(snapshot.models),
        versions=len(snapshot.versions),
        runs=len(snapshot.runs),
        watermark_ms=snapshot_watermark(snapshot) if whole else None,
    )
    return sync_outcome.succeeded(sync_run_id, read, result)


def _read_and_apply(
    sync_run: SyncRun, on_progress: ProgressSink, progress: ProgressSink | None
) -> tuple[RegistrySnapshot, ApplyResult]:
    def writing() -> None:
        if progress:
            progress("write", 0, None)

    if sync_run.kind == SyncRun.Kind.WEBHOOK and sync_run.model_name:
        snapshot = gateway.read_model(sync_run.model_name)
    elif sync_run.kind == SyncRun.Kind.FULL and connection.vendor == "postgresql":
        # A full sync writes each chunk while MLflow answers the next: the read runs in a thread of its own. Not on
        # SQLite: that thread writes the sync's progress while the sync's transaction is open, and SQLite has one
        # writer at a time.
        pieces = prefetched(
            gateway_stream.iter_registry(on_progress), on_exit=connections.close_all, name="sync-read"
        )
        return apply_stream(_then(pieces, writing))
    else:
        snapshot = gateway.read_registry(on_progress)
    writing()
    return snapshot, apply_snapshot(snapshot)


def _then(items: Iterable[RegistrySnapshot], done: Callable[[], None]) -> Iterator[RegistrySnapshot]:
    yield from items
    done()


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
