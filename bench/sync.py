"""Full-sync benchmark: our full sync into PostgreSQL against the floor of reading MLflow's REST API.

    make bench-sync                                  # 50 models × 40 versions = 2,000 versions
    make bench-sync BENCH_ARGS="--versions-total 10000"   # 100 models × 100 versions
    .venv/bin/python bench/sync.py --models 5 --versions 10   # a quick run

A real ``mlflow server`` is populated with models × versions, each version with its own run holding 10
metrics and 10 params, registered MLflow 3 style from a logged model of that run. Then, in one run:
  (a) the floor: every model, version and run read over MLflow's REST API with batched calls (plain
      ``requests``, keep-alive session: registered-models/search and model-versions/search pages,
      experiments/search once, logged-models/search with ``model_id IN (...)`` and runs/search with
      ``attributes.run_id IN (...)`` in chunks of 100 —
      JSON decoding included, nothing else). One warm-up read, then the median of ``--floor-repeats``
      reads before the full syncs, one before each later round and ``--floor-repeats - 1`` right after them;
  (b) ``--rounds`` full syncs (``mirror.sync.execute_sync`` of a ``SyncRun(kind="full")``), each into an empty
      mirror (emptied between rounds) and each right after a floor read; the median is the figure. The sync runs
      as in a Celery worker that already holds its broker connection (`warm_worker_state`);
  (c) a second full sync with nothing changed (for information).
Prints ``floor_read_seconds``, ``full_sync_seconds`` (each round; ``full_sync_seconds_median``), ``resync_seconds``
and ``ratio: (b)/(a)``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import (
    Timer,
    bench_environment,
    emit,
    median,
    mlflow_server,
    note,
    populate,
)


def floor_read(uri: str, *, page_size: int = 1000, run_batch: int = 100) -> tuple[int, int, int]:
    """Read every model, version and run the cheapest batched way MLflow allows; returns the counts."""
    import requests

    session = requests.Session()
    api = uri.rstrip("/") + "/api/2.0/mlflow"

    def pages(method: str, endpoint: str, key: str, params: dict) -> list[dict]:
        items, token = [], None
        while True:
            query = dict(params, **({"page_token": token} if token else {}))
            if method == "GET":
                response = session.get(f"{api}/{endpoint}", params=query, timeout=60)
            else:
                response = session.post(f"{api}/{endpoint}", json=query, timeout=60)
            response.raise_for_status()
            body = response.json()
            items.extend(body.get(key, []))
            token = body.get("next_page_token")
            if not token:
                return items

    models = pages("GET", "registered-models/search", "registered_models", {"max_results": 1000})
    versions = pages("GET", "model-versions/search", "model_versions", {"max_results": page_size})
    experiments = [
        e["experiment_id"]
        for e in pages("POST", "experiments/search", "experiments", {"max_results": 1000, "view_type": "ALL"})
    ]
    # MLflow 3 registers a logged model from `models:/<model_id>` (its REST answers leave `model_id` out).
    model_ids = sorted(
        {v["source"].removeprefix("models:/") for v in versions if v["source"].startswith("models:/m-")}
    )
    for start in range(0, len(model_ids), run_batch):
        chunk = model_ids[start : start + run_batch]
        model_filter = "model_id IN (" + ",".join(f"'{m}'" for m in chunk) + ")"
        body = {"experiment_ids": experiments, "filter": model_filter, "max_results": len(chunk)}
        pages("POST", "logged-models/search", "models", body)
    run_ids = sorted({v["run_id"] for v in versions if v.get("run_id")})
    runs = 0
    for start in range(0, len(run_ids), run_batch):
        chunk = run_ids[start : start + run_batch]
        run_filter = "attributes.run_id IN (" + ",".join(f"'{r}'" for r in chunk) + ")"
        runs += len(
            pages(
                "POST",
                "runs/search",
                "runs",
                {
                    "experiment_ids": experiments,
                    "filter": run_filter,
                    "max_results": len(chunk),
                    "run_view_type": "ALL",
                },
            )
        )
    session.close()
    return len(models), len(versions), runs


def instrument_sync() -> dict[str, float]:
    """Time the three phases of execute_sync (read, apply, after-sync follow-ups) by wrapping them. A full sync on
    PostgreSQL writes while it reads (`sync.apply_stream`): there `read` runs from its first request to its last
    piece read, and `apply` is what the writing adds after that (the rest was written during the read)."""
    import time

    from mirror import gateway, gateway_stream, sync, sync_outcome

    phases = {"read": 0.0, "apply": 0.0, "after": 0.0}
    read_ended = [0.0]

    def timed(phase, fn):
        def wrapper(*args, **kwargs):
            with Timer() as t:
                result = fn(*args, **kwargs)
            phases[phase] += t.seconds
            return result

        return wrapper

    def timed_stream(stream):
        def wrapper(*args, **kwargs):
            began = time.perf_counter()
            yield from stream(*args, **kwargs)
            read_ended[0] = time.perf_counter()
            phases["read"] += read_ended[0] - began

        return wrapper

    def timed_apply_stream(apply):
        def wrapper(*args, **kwargs):
            result = apply(*args, **kwargs)
            phases["apply"] += time.perf_counter() - read_ended[0]
            return result

        return wrapper

    gateway.read_registry = timed("read", gateway.read_registry)
    gateway_stream.iter_registry = timed_stream(gateway_stream.iter_registry)
    sync.apply_snapshot = timed("apply", sync.apply_snapshot)
    sync.apply_stream = timed_apply_stream(sync.apply_stream)
    sync_outcome.after_success = timed("after", sync_outcome.after_success)
    return phases


def warm_worker_state() -> None:
    """What the Celery worker that runs a sync already holds before it starts one: the broker's transport
    imported and a producer connection open. Without it a first publish in this cold process imports kombu's
    Redis transport and redis-py's modules (~0.3 s quiet, over 1 s loaded), a cost no worker pays per sync."""
    from celery import current_app

    with current_app.producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=1)


def reset_mirror() -> None:
    """Empty the mirror (and whatever the sync's hooks wrote beside it) for the next round's first full sync."""
    from django.db import connection

    from mirror.models import LoggedModel, ModelVersion, RegisteredModel, Run

    tables = ", ".join(m._meta.db_table for m in (ModelVersion, LoggedModel, Run, RegisteredModel))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} CASCADE")


def run_full_sync(profile_path: str | None = None):
    from mirror.models import SyncRun
    from mirror.sync import execute_sync

    sync_run = SyncRun.objects.create(kind=SyncRun.Kind.FULL)
    profiler = cProfile.Profile() if profile_path else None
    with Timer() as t:
        if profiler:
            profiler.enable()
        done = execute_sync(sync_run.pk)
        if profiler:
            profiler.disable()
    if done.status != SyncRun.Status.SUCCEEDED:
        raise SystemExit(f"sync {done.pk} ended {done.status}: {done.error}")
    if profiler:
        profiler.dump_stats(profile_path)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        note(f"profile written to {profile_path}; top of cumulative time:\n{out.getvalue()}")
    return t.seconds, done


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--versions", type=int, default=40, help="versions per model")
    parser.add_argument(
        "--versions-total",
        type=int,
        help="total versions instead of --models/--versions: sqrt(N) models × sqrt(N) versions (10000 → 100×100)",
    )
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--params", type=int, default=10)
    parser.add_argument("--threads", type=int, default=8, help="threads populating MLflow")
    parser.add_argument("--floor-repeats", type=int, default=3)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="full syncs into an emptied mirror, each after a floor read (interleaved); the median is the figure",
    )
    parser.add_argument("--profile", metavar="PATH", help="cProfile the full sync into PATH (.prof)")
    parser.add_argument(
        "--mlflow-root",
        metavar="DIR",
        help="keep MLflow's store in DIR and reuse it when already populated (for repeated runs)",
    )
    parser.add_argument(
        "--compare-reads",
        type=int,
        default=0,
        metavar="N",
        help="also time N interleaved pairs of floor read / gateway.read_registry() (diagnostics)",
    )
    parser.add_argument(
        "--what-if-chunked-enqueue",
        action="store_true",
        help="projection only: publish the per-version follow-up tasks 200 ids per message, as a batched "
        "task would (the messages are purged unrun); measures what batching would save",
    )
    args = parser.parse_args()
    if args.versions_total:
        side = math.isqrt(args.versions_total)
        args.models, args.versions = side, args.versions_total // side
    return args


def main() -> None:
    args = parse_args()
    with mlflow_server(args.mlflow_root) as server, bench_environment(mlflow_uri=server.uri):
        expected = set_up(args, server.uri)
        floors = [timed_floor_read(server.uri) for _ in range(args.floor_repeats)]
        emit("floor_read_runs_before", " ".join(f"{s:.3f}" for s in floors))
        if args.compare_reads:
            compare_reads(server.uri, args.compare_reads)
        if args.what_if_chunked_enqueue:
            what_if_chunked_enqueue()
        warm_worker_state()

        phases = instrument_sync()
        rounds = []
        for number in range(args.rounds):
            if number:
                reset_mirror()
                floors.append(timed_floor_read(server.uri))  # interleaved: one floor read before each round
            rounds.append((floors[-1], *measure_full_sync(args if number == 0 else None, phases)))
            check_mirror(expected)
        # The floor again right after the syncs, so load that arrived meanwhile weighs on both sides.
        after = [timed_floor_read(server.uri) for _ in range(max(1, args.floor_repeats - 1))]
        emit("floor_read_runs_after", " ".join(f"{s:.3f}" for s in after))
        floor = median(floors + after)
        emit("floor_read_seconds", floor)
        full = median([f for _, f, _ in rounds])
        committed = median([c for _, _, c in rounds])
        emit("full_sync_seconds_median", full)
        emit("round_ratios", " ".join(f"{f / a:.3f}" for a, f, _ in rounds))
        measure_resync(phases)

        emit("committed_ratio", committed / floor)
        emit("ratio", full / floor)
        emit("target_ratio", 1.2)


def set_up(args, uri: str) -> tuple[int, int, int]:
    """Populate MLflow (unless a kept store already is), warm the floor read up and check what it sees;
    returns the expected counts of models, versions and runs."""
    from django.conf import settings

    with Timer() as t:
        if not (args.mlflow_root and floor_read(uri)[0]):
            populate(
                uri,
                models=args.models,
                versions=args.versions,
                metrics=args.metrics,
                params=args.params,
                threads=args.threads,
                logged_models=True,
            )
    emit("models", args.models)
    emit("versions", args.models * args.versions)
    emit("populate_seconds", t.seconds)

    with Timer() as t:
        counts = floor_read(uri, page_size=settings.MLFLOW_PAGE_SIZE, run_batch=settings.MLFLOW_RUN_BATCH)
    emit("floor_warmup_seconds", t.seconds)
    expected = (args.models, args.models * args.versions, args.models * args.versions)
    if counts != expected:
        raise SystemExit(f"floor read saw {counts}, expected {expected}")
    return expected


def timed_floor_read(uri: str) -> float:
    from django.conf import settings

    with Timer() as t:
        floor_read(uri, page_size=settings.MLFLOW_PAGE_SIZE, run_batch=settings.MLFLOW_RUN_BATCH)
    return t.seconds


def compare_reads(uri: str, n: int) -> None:
    """N interleaved pairs of floor read / ``gateway.read_registry()`` (diagnostics)."""
    from mirror import gateway

    pairs = []
    for _ in range(n):
        floor = timed_floor_read(uri)
        with Timer() as b:
            gateway.read_registry()
        pairs.append((floor, b.seconds))
    emit("compare_floor_runs", " ".join(f"{a:.3f}" for a, _ in pairs))
    emit("compare_gateway_read_runs", " ".join(f"{b:.3f}" for _, b in pairs))
    emit("compare_read_ratio", median([b for _, b in pairs]) / median([a for a, _ in pairs]))


def what_if_chunked_enqueue() -> None:
    from mirror import sync as sync_module

    def chunked(task, ids, size=200):
        for start in range(0, len(ids), size):
            task.delay(ids[start : start + size])  # never run: the queue is purged at the end

    sync_module._enqueue_each = chunked
    note("WHAT-IF: follow-up tasks published 200 ids per message (projection, not the real code)")
    emit("what_if_chunked_enqueue", "yes")


def measure_full_sync(args, phases: dict[str, float]) -> tuple[float, float]:
    """The full sync into the empty mirror; its seconds, and the seconds until the mirror was committed."""
    for key in phases:
        phases[key] = 0.0
    full, done = run_full_sync(args.profile if args else None)
    emit("full_sync_seconds", full)
    # Until the mirror is committed and the sync run marked succeeded (before the follow-ups).
    committed = (done.finished_at - done.started_at).total_seconds()
    emit("full_sync_committed_seconds", committed)
    emit("full_sync_read_seconds", phases["read"])
    emit("full_sync_apply_seconds", phases["apply"])
    emit("full_sync_after_seconds", phases["after"])
    emit(
        "full_sync_counts",
        f"models={done.models_read} versions={done.versions_read} runs={done.runs_read} created={done.created}",
    )
    return full, committed


def check_mirror(expected: tuple[int, int, int]) -> None:
    from mirror.models import ModelVersion, Run

    mirrored = ModelVersion.objects.live().count(), Run.objects.count()
    if mirrored != expected[1:]:
        raise SystemExit(f"mirror holds {mirrored} versions/runs, expected {expected[1:]}")


def measure_resync(phases: dict[str, float]) -> None:
    """A second full sync with nothing changed."""
    for key in phases:
        phases[key] = 0.0
    resync, done = run_full_sync()
    emit("resync_seconds", resync)
    emit("resync_read_seconds", phases["read"])
    emit("resync_apply_seconds", phases["apply"])
    emit("resync_counts", f"created={done.created} updated={done.updated} deleted={done.deleted}")


if __name__ == "__main__":
    main()
