"""The frequent reconcile, incremental: what changed in MLflow since the watermark, read and applied through
the one upsert (`mirror.sync.apply_snapshot`, one scoped snapshot per changed model, all in one transaction).

Each run (a SyncRun of kind `reconcile`, every RECONCILE_INTERVAL_SECONDS):
1. lists every registered model (tags, aliases and description included: MLflow moves no stamp for tags and
   aliases) and compares them with the mirror: new, gone, stamped since the cutoff, or different;
2. reads the versions stamped since the cutoff, newest first (description edits, stage moves, new versions);
3. checks the registered runs that may have new metrics: those the mirror still sees running, and those that
   ended since the cutoff (a run reopened, logged to and ended again);
4. for each changed model, lists its versions (a complete list: deletions) and reads the runs and logged
   models of only the versions that are new or changed; applies it all, and moves the watermark.
The cutoff is the watermark minus RECONCILE_OVERLAP_SECONDS. What it cannot see (a version tag set or deleted
while the webhook was lost, a metric logged to a run that had already ended) is caught by the full sweep
(`SyncRun` kind `sweep`, every RECONCILE_FULL_SWEEP_SECONDS), a full read that also resets the watermark.
Without a watermark (no successful whole-registry read yet) a reconcile is a full read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from common.errors import MlflowNotFound, MlflowRejected, MlflowUnavailable
from mirror import gateway, gateway_incremental, sync, sync_outcome, watermark
from mirror.mlflow_data import MlflowModel, MlflowRun, MlflowVersion, RegistrySnapshot
from mirror.models import ModelVersion, RegisteredModel, Run, SyncRun

ACTIVE_RUN_STATUSES = ("RUNNING", "SCHEDULED")


@dataclass
class Changes:
    """What one incremental read found: the snapshots to apply, what was read, where the watermark moves."""

    snapshots: list[RegistrySnapshot] = field(default_factory=list)
    models_read: int = 0
    versions_read: int = 0
    runs_read: int = 0
    watermark_ms: int = 0


def last_watermark() -> int | None:
    """The watermark of the latest successful whole-registry read (full sync, sweep or reconcile)."""
    row = (
        SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED, watermark_ms__isnull=False)
        .order_by("-finished_at", "-pk")
        .values_list("watermark_ms", flat=True)
        .first()
    )
    return row


def read_changes(previous_ms: int) -> Changes:
    """Read what changed in MLflow since `previous_ms` (minus the overlap); nothing is written."""
    since = watermark.cutoff(previous_ms, int(settings.RECONCILE_OVERLAP_SECONDS * 1000))
    started_ms = gateway_incremental.server_time_ms()  # before any read: what is stamped earlier is seen
    models = gateway.list_models()
    listed = {m.name: m for m in models}
    aliases = {m.name: m.aliases for m in models}
    changed, gone = watermark.changed_models(models, _mirrored_models(), since)
    recent = gateway_incremental.versions_since(since, aliases)
    changed |= {v.name for v in recent}
    checked_runs, run_models = _runs_with_news(since)
    changed |= run_models
    changed &= listed.keys()  # a model created since the listing: the next reconcile has it
    versions = gateway_incremental.versions_of(changed, aliases) if changed else []
    stale = watermark.versions_to_refresh(versions, _mirrored_versions(changed), since)
    runs, logged = gateway_incremental.runs_and_logged_models(stale)
    runs = {**checked_runs, **runs}
    changes = Changes(
        snapshots=[_scoped(listed[name], versions, runs, logged) for name in sorted(changed)]
        + [RegistrySnapshot(scope_model=name, missing_model=True) for name in sorted(gone)],
        models_read=len(models),
        versions_read=len({(v.name, v.version) for v in [*recent, *versions]}),
        runs_read=len(runs),
    )
    # MLflow's time when this read began; else (no Date header) the newest stamp this read saw.
    seen = (
        [started_ms]
        if started_ms is not None
        else [m.last_updated_timestamp for m in models]
        + [v.last_updated_timestamp for v in recent if v.name in listed]
    )
    changes.watermark_ms = watermark.advance(previous_ms, seen)
    return changes


def _scoped(model: MlflowModel, versions: list[MlflowVersion], runs: dict, logged: dict) -> RegistrySnapshot:
    """One model's complete snapshot: its versions, and of runs and logged models only those that were read."""
    own = [v for v in versions if v.name == model.name]
    run_ids = {v.run_id for v in own} | {
        logged[v.model_id].source_run_id for v in own if v.model_id in logged
    }
    return RegistrySnapshot(
        models=[model],
        versions=own,
        runs={run_id: runs[run_id] for run_id in run_ids if run_id in runs},
        logged_models={v.model_id: logged[v.model_id] for v in own if v.model_id in logged},
        scope_model=model.name,
    )


def _mirrored_models() -> dict[str, watermark.MirroredModel]:
    rows = RegisteredModel.objects.values_list("name", "description", "tags", "aliases", "deleted_at")
    return {
        name: watermark.MirroredModel(description, tags, aliases, deleted_at is not None)
        for name, description, tags, aliases, deleted_at in rows.iterator(chunk_size=2000)
    }


def _mirrored_versions(names: set[str]) -> dict[tuple[str, int], watermark.MirroredVersion]:
    if not names:
        return {}
    rows = ModelVersion.objects.filter(model__name__in=names, deleted_at__isnull=True).values_list(
        "model__name", "version", "run_id", "source_run_id"
    )
    return {
        (name, version): watermark.MirroredVersion(run_id, source_run_id is not None)
        for name, version, run_id, source_run_id in rows.iterator(chunk_size=2000)
    }


def _runs_with_news(since_ms: int) -> tuple[dict[str, MlflowRun], set[str]]:
    """Registered runs whose MLflow state differs from the mirror's, among those that may have news: running
    in the mirror, or ended since the cutoff. Returns them and the models of their live versions."""
    registered = Run.objects.filter(versions__deleted_at__isnull=True)
    experiments = set(registered.values_list("experiment_id", flat=True).distinct())
    found = gateway_incremental.runs_ended_since(experiments, since_ms)
    active = dict(
        registered.filter(status__in=ACTIVE_RUN_STATUSES).values_list("run_id", "experiment_id").distinct()
    )
    if active.keys() - found.keys():
        found |= gateway_incremental.runs_by_id(active.keys() - found.keys(), set(active.values()))
    rows = {r.run_id: r for r in registered.filter(run_id__in=list(found)).distinct()}
    news = {run_id: run for run_id, run in found.items() if run_id in rows and _differs(rows[run_id], run)}
    if not news:
        return {}, set()
    names = ModelVersion.objects.filter(run_id__in=list(news), deleted_at__isnull=True).values_list(
        "model__name", flat=True
    )
    return news, set(names)


def _differs(row: Run, run: MlflowRun) -> bool:
    """What a run gains after registration (metrics, its end, tags, params) differs from the mirror's row."""
    end = round(row.end_time.timestamp() * 1000) if row.end_time else None
    return (
        row.status != run.status
        or end != run.end_time
        or row.metrics != run.metrics
        or row.params != run.params
        or row.tags != run.tags
    )


def apply_changes(changes: Changes) -> sync.ApplyResult:
    """Apply every scoped snapshot in one transaction: the reconcile lands whole or not at all."""
    total = sync.ApplyResult()
    with transaction.atomic():
        for snapshot in changes.snapshots:
            result = sync.apply_snapshot(snapshot)
            total.created += result.created
            total.updated += result.updated
            total.deleted += result.deleted
            total.new_version_ids += result.new_version_ids
            total.touched_models |= result.touched_models
            total.identity_changes += result.identity_changes
    return total


def execute_reconcile(sync_run_id: int) -> SyncRun:
    """Run a queued reconcile run: incremental from the last watermark, or a full read when there is none.
    Safe to call twice (the second call finds it claimed and does nothing)."""
    if not sync_outcome.claim(sync_run_id):
        return SyncRun.objects.get(pk=sync_run_id)
    previous = last_watermark()
    if previous is None:
        SyncRun.objects.filter(pk=sync_run_id).update(status=SyncRun.Status.QUEUED)
        return sync.execute_sync(sync_run_id)  # a full read, which sets the first watermark
    try:
        changes = read_changes(previous)
        SyncRun.objects.filter(pk=sync_run_id).update(progress=50)
        result = apply_changes(changes)
    except (MlflowUnavailable, MlflowRejected, MlflowNotFound) as exc:
        return sync_outcome.failed(sync_run_id, exc)
    read = sync_outcome.ReadCounts(
        models=changes.models_read,
        versions=changes.versions_read,
        runs=changes.runs_read,
        watermark_ms=changes.watermark_ms,
    )
    return sync_outcome.succeeded(sync_run_id, read, result)
