"""Reconcile benchmark: the incremental reconcile with nothing changed against the full read of the same registry.

    make bench-reconcile                                   # 100 models × 100 versions = 10,000 versions
    .venv/bin/python bench/reconcile.py --versions-total 400 --repeats 3   # a quick run
    .venv/bin/python bench/reconcile.py --mlflow-root /tmp/bench/rc10k     # keep (and reuse) the store

MLflow's SQLite store is populated in-process through MLflow's own store API (the SQLAlchemy tracking and
registry stores the server itself runs on: experiments, runs with 10 metrics and 10 params each, MLflow 3
logged models, registered models and versions registered from them), before its server starts on it: the same
rows REST calls would write, ~10× faster. Then, in one run, against that server:
  (a) the full read: `gateway.read_registry()` (what every reconcile did before it was incremental), the median
      of `--full-repeats` after one warm-up; a full sync fills the mirror first and a full sweep (read + apply,
      nothing changed) is timed for information;
  (b) the overlap: a reconcile reads back RECONCILE_OVERLAP_SECONDS behind its watermark, so the benchmark waits
      until the newest change in MLflow is older than that (a registry at rest; a reused store needs no wait);
  (c) the incremental reconcile (`mirror.reconcile.execute_reconcile`: read, apply, after-sync hooks) with
      nothing changed: one warm-up, then the median of `--repeats`;
  (d) for information, one reconcile after a few changes (an alias moved, a description edited, a stage moved).
Prints ``full_read_seconds``, ``reconcile_seconds`` and ``reconcile_ratio: (c)/(a)`` (target ≤ 0.1).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import Timer, bench_environment, emit, median, mlflow_server, note


# --- populating MLflow's store in-process -----------------------------------------------------------
def populate_store(root: Path, *, models: int, versions: int, metrics: int, params: int) -> None:
    """models × versions versions, each from a logged model of its own finished run, written through MLflow's
    SQLAlchemy stores into ``root/mlflow.db`` (the file ``demo.mlflow_process.MlflowServer`` serves)."""
    import logging

    import mlflow
    from mlflow.entities import LoggedModelParameter, Metric, Param, RunStatus
    from mlflow.entities.model_registry import RegisteredModelTag
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    _no_fsync_while_populating()
    root.mkdir(parents=True, exist_ok=True)
    db_uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(db_uri)  # the registry store resolves `models:/<id>` sources through it
    tracking = TrackingStore(db_uri, "mlflow-artifacts:/")
    registry = RegistryStore(db_uri)
    experiment_id = tracking.create_experiment("bench-reconcile")
    began = time.perf_counter()
    for m in range(models):
        name = f"bench-model-{m:03d}"
        tags = [RegisteredModelTag("primary_metric", "m0"), RegisteredModelTag("primary_metric_goal", "max")]
        registry.create_registered_model(name, tags=tags)
        for v in range(versions):
            index = m * versions + v
            now = int(time.time() * 1000)
            run = tracking.create_run(experiment_id, "bench", now, [], f"run-{index}")
            run_id = run.info.run_id
            values = {f"p{k}": str((index + k) % 13) for k in range(params)}
            tracking.log_batch(
                run_id,
                metrics=[Metric(f"m{k}", (index * 7 + k) % 100 / 100, now, 0) for k in range(metrics)],
                params=[Param(key, value) for key, value in values.items()],
                tags=[],
            )
            tracking.update_run_info(run_id, RunStatus.FINISHED, now, f"run-{index}")
            logged = tracking.create_logged_model(
                experiment_id,
                source_run_id=run_id,
                params=[LoggedModelParameter(key, value) for key, value in values.items()],
            )
            registry.create_model_version(
                name, f"models:/{logged.model_id}", run_id=run_id, model_id=logged.model_id
            )
        if m % 10 == 9:
            note(f"{(m + 1) * versions} versions written in {time.perf_counter() - began:.0f} s")


def _no_fsync_while_populating() -> None:
    """Each store call commits on its own; SQLite's fsync per commit, not MLflow, would set the pace. Off for
    this process's connections only (`synchronous` is not stored in the file): the server later opens the
    same file with SQLite's defaults, and the rows are the same."""
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute("PRAGMA synchronous=OFF")


# --- what is timed --------------------------------------------------------------------------------
def full_read() -> float:
    from mirror import gateway

    with Timer() as t:
        gateway.read_registry()
    return t.seconds


def whole_sync(kind: str):
    from mirror.models import SyncRun
    from mirror.sync import execute_sync

    with Timer() as t:
        done = execute_sync(SyncRun.objects.create(kind=kind).pk)
    if done.status != SyncRun.Status.SUCCEEDED:
        raise SystemExit(f"{kind} {done.pk} ended {done.status}: {done.error}")
    return t.seconds, done


def reconcile():
    from mirror.models import SyncRun
    from mirror.reconcile import execute_reconcile

    with Timer() as t:
        done = execute_reconcile(SyncRun.objects.create(kind=SyncRun.Kind.RECONCILE).pk)
    if done.status != SyncRun.Status.SUCCEEDED:
        raise SystemExit(f"reconcile {done.pk} ended {done.status}: {done.error}")
    return t.seconds, done


def wait_for_rest(newest_ms: int) -> None:
    """Until MLflow's clock is past the newest change plus the overlap (a registry at rest)."""
    from django.conf import settings

    from mirror import gateway_incremental

    while True:
        now = gateway_incremental.server_time_ms() or int(time.time() * 1000)
        left = (newest_ms + settings.RECONCILE_OVERLAP_SECONDS * 1000 - now) / 1000 + 1
        if left <= 0:
            return
        note(f"waiting {left:.0f} s: the newest change is inside RECONCILE_OVERLAP_SECONDS")
        time.sleep(min(left, 30))


def some_changes(uri: str) -> None:
    from bench._support import mlflow_client

    client = mlflow_client(uri)
    client.set_registered_model_alias("bench-model-000", "champion", "1")
    client.update_model_version("bench-model-001", "1", description="edited by the benchmark")
    client.transition_model_version_stage("bench-model-002", "1", "Staging")


# --- the run --------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions-total", type=int, default=10_000, help="√N models × √N versions")
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--params", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5, help="no-change reconciles timed (median)")
    parser.add_argument("--full-repeats", type=int, default=3, help="full reads timed (median)")
    parser.add_argument(
        "--mlflow-root",
        metavar="DIR",
        help="keep MLflow's store in DIR and reuse it when already populated (for repeated runs)",
    )
    args = parser.parse_args()
    args.models = max(1, math.isqrt(args.versions_total))
    args.versions = max(1, args.versions_total // args.models)
    return args


def main() -> None:
    import tempfile

    args = parse_args()
    root = Path(args.mlflow_root or tempfile.mkdtemp(prefix="bench-reconcile-"))
    total = args.models * args.versions
    with Timer() as t:
        if not (root / "mlflow.db").exists():
            populate_store(
                root, models=args.models, versions=args.versions, metrics=args.metrics, params=args.params
            )
    emit("models", args.models)
    emit("versions", total)
    emit("populate_seconds", t.seconds)
    with mlflow_server(str(root)) as server, bench_environment(mlflow_uri=server.uri):
        measure(args, server.uri, total)


def measure(args, uri: str, total: int) -> None:
    from django.conf import settings

    seconds, synced = whole_sync("full")
    emit("full_sync_seconds", seconds)
    if synced.versions_read != total:
        raise SystemExit(f"the full sync read {synced.versions_read} versions, expected {total}")
    full_read()  # warm-up
    reads = [full_read() for _ in range(args.full_repeats)]
    emit("full_read_runs", " ".join(f"{s:.3f}" for s in reads))
    emit("full_read_seconds", median(reads))
    seconds, swept = whole_sync("sweep")
    emit("full_sweep_seconds", seconds)
    emit("overlap_seconds", float(settings.RECONCILE_OVERLAP_SECONDS))
    wait_for_rest(swept.watermark_ms)

    reconcile()  # warm-up: its watermark becomes MLflow's time, past the overlap
    runs = [reconcile() for _ in range(args.repeats)]
    emit("reconcile_runs", " ".join(f"{s:.3f}" for s, _ in runs))
    last = runs[-1][1]
    emit("reconcile_read", f"models={last.models_read} versions={last.versions_read} runs={last.runs_read}")
    emit("reconcile_changed", f"created={last.created} updated={last.updated} deleted={last.deleted}")
    reconcile_seconds = median([s for s, _ in runs])
    emit("reconcile_seconds", reconcile_seconds)

    some_changes(uri)
    seconds, changed = reconcile()
    emit("reconcile_after_3_changes_seconds", seconds)
    emit("reconcile_after_3_changes_read", f"versions={changed.versions_read} runs={changed.runs_read}")
    check_changes()

    emit("reconcile_ratio", reconcile_seconds / median(reads))
    emit("target_reconcile_ratio", 0.1)


def check_changes() -> None:
    from mirror.models import ModelVersion, RegisteredModel

    problems = []
    if RegisteredModel.objects.get(name="bench-model-000").aliases != {"champion": 1}:
        problems.append("alias")
    if (
        ModelVersion.objects.get(model__name="bench-model-001", version=1).description
        != "edited by the benchmark"
    ):
        problems.append("description")
    if ModelVersion.objects.get(model__name="bench-model-002", version=1).stage != "Staging":
        problems.append("stage")
    if problems:
        raise SystemExit(f"the reconcile after the changes missed: {', '.join(problems)}")


if __name__ == "__main__":
    main()
