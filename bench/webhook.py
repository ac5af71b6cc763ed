"""Webhook freshness benchmark: time from an MLflow registry change to the mirror row reflecting it.

    make bench-webhook
    .venv/bin/python bench/webhook.py --changes 6      # a quick run

Everything is real and separate: an ``mlflow server`` (webhooks on, webhook cache TTL 1 s), our app under
gunicorn on a free port, a Celery worker (threads pool, 4) on Redis with a queue of its own, and a throwaway
PostgreSQL database shared by all three. The webhook is registered with ``gateway.register_webhook``; then
``--changes`` MLflow changes are made one after another, cycling new version → alias move → tag set, and for
each the time from the MLflow call returning to the mirror row showing it is measured (DB polled every 10 ms).
Prints ``p50_seconds``, ``p95_seconds``, ``max_seconds`` and a per-stage breakdown (delivery: MLflow call
returned → our receiver stored the delivery; pickup: delivery stored → worker started the targeted sync;
sync: targeted sync start → finish; visible: finish → our poll saw it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import (
    REPO,
    bench_environment,
    emit,
    median,
    mlflow_client,
    mlflow_server,
    note,
    percentile,
    populate,
)

MODEL_PREFIX = "hook-model"


@contextlib.contextmanager
def child(command: list[str], env: dict[str, str], log_path: Path, ready: callable, what: str):
    """A subprocess in its own process group, waited for until ``ready()``, terminated at the end."""
    log = log_path.open("w")
    proc = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 90
        while not ready():
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not ready after 90 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait(timeout=10)
        log.close()


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--versions", type=int, default=10, help="versions the model has before the changes")
    parser.add_argument(
        "--pause", type=float, default=0.3, help="seconds between one change showing and the next"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="give up on one change after this long")
    parser.add_argument("--web-workers", type=int, default=1)
    parser.add_argument("--web-threads", type=int, default=4)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp,
        mlflow_server(webhook_cache_ttl=1) as server,
        bench_environment(mlflow_uri=server.uri) as env,
    ):
        name, client, spare_runs = set_up(args, server.uri, env)
        with web_and_worker(args, env, Path(tmp)) as base:
            measured = measure_changes(args, client, name, spare_runs, base)
        reads, applies = measure_targeted_sync(name)
        emit_figures(*measured, reads, applies)


def set_up(args, uri: str, env: dict[str, str]):
    """The model with ``--versions`` versions, spare runs for the new versions, and a first full sync."""
    from mirror.models import SyncRun
    from mirror.sync import execute_sync

    note(f"broker {env['REDIS_URL']} queue {env['CELERY_DEFAULT_QUEUE']}")
    (name,) = populate(uri, models=1, versions=args.versions, prefix=MODEL_PREFIX)
    client = mlflow_client(uri)
    # Runs for the versions the benchmark will create, made beforehand so each change is one call.
    experiment_id = client.create_experiment(f"hook-new-versions-{os.getpid()}")
    spare_runs = [client.create_run(experiment_id).info.run_id for _ in range(args.changes)]
    done = execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk)
    note(f"initial full sync: {done.status} ({done.versions_read} versions)")
    return name, client, spare_runs


@contextlib.contextmanager
def web_and_worker(args, env: dict[str, str], tmp: Path):
    """Our app under gunicorn and a Celery worker on the benchmark's queue; yields the app's base URL."""
    from demo.mlflow_process import free_port
    from registry_ui.celery import worker_command

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web_cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "registry_ui.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.web_workers),
        "--threads",
        str(args.web_threads),
        "--access-logfile",
        "-",
    ]
    worker_log = tmp / "worker.log"
    worker_cmd = worker_command(queue=env["CELERY_DEFAULT_QUEUE"], isolated=True)
    with (
        child(web_cmd, env, tmp / "web.log", lambda: http_ok(f"{base}/healthz"), "gunicorn"),
        child(worker_cmd, env, worker_log, lambda: "ready." in worker_log.read_text(), "celery worker"),
    ):
        yield base


def measure_changes(args, client, name: str, spare_runs: list[str], base: str):
    """Register the webhook, then make the changes one after another; each one's latency and stages."""
    from django.conf import settings

    from mirror import gateway

    hook_id, _ = gateway.register_webhook(f"{base}/webhooks/mlflow/", settings.MLFLOW_WEBHOOK_SECRET)
    note(f"webhook {hook_id} registered for {base}/webhooks/mlflow/; waiting 2 s for MLflow's cache")
    time.sleep(2)

    latencies: list[float] = []
    stages: dict[str, list[float]] = {"delivery": [], "pickup": [], "sync": [], "visible": []}
    per_kind: dict[str, list[float]] = {}
    counters = {"next_version": args.versions + 1, "alias_target": 1}
    for i in range(args.changes):
        kind = ("new_version", "alias_move", "tag_set")[i % 3]
        wall_before = time.time()
        reflected = make_change(args, client, name, kind, i, spare_runs, counters)
        returned = time.perf_counter()
        wall_returned = time.time()
        seen = None
        while time.perf_counter() - returned < args.timeout:
            if reflected():
                seen = time.perf_counter() - returned
                break
            time.sleep(0.01)
        wall_seen = time.time()
        if seen is None:
            note(f"change {i + 1} ({kind}) not reflected after {args.timeout:.0f} s")
            seen = args.timeout
        latencies.append(seen)
        per_kind.setdefault(kind, []).append(seen)
        parts = where_the_time_went(wall_before, wall_returned, wall_seen)
        for key, value in parts.items():
            stages[key].append(value)
        detail = " ".join(f"{k}={v:.3f}" for k, v in parts.items())
        note(f"change {i + 1:2d} {kind:<11} {seen:.3f} s  {detail}")
        time.sleep(args.pause)
    return latencies, stages, per_kind


def make_change(args, client, name: str, kind: str, i: int, spare_runs: list[str], counters: dict):
    """Make change ``i`` in MLflow; returns the check that the mirror row shows it."""
    from mirror.models import ModelVersion, RegisteredModel

    if kind == "new_version":
        run_id = spare_runs[i]
        client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
        version = counters["next_version"]
        counters["next_version"] += 1

        def reflected(version=version):
            return ModelVersion.objects.filter(
                model__name=name, version=version, deleted_at__isnull=True
            ).exists()

    elif kind == "alias_move":
        counters["alias_target"] = counters["alias_target"] % args.versions + 1
        alias_target = counters["alias_target"]
        client.set_registered_model_alias(name, "champion", str(alias_target))

        def reflected(target=alias_target):
            return (
                ModelVersion.objects.filter(
                    model__name=name, version=target, aliases__contains=["champion"]
                ).exists()
                and RegisteredModel.objects.filter(name=name, aliases__champion=target).exists()
            )

    else:
        target = (i % args.versions) + 1
        value = f"value-{i}"
        client.set_model_version_tag(name, str(target), "bench_tag", value)

        def reflected(target=target, value=value):
            return ModelVersion.objects.filter(
                model__name=name, version=target, tags__bench_tag=value
            ).exists()

    return reflected


def where_the_time_went(wall_before: float, wall_returned: float, wall_seen: float) -> dict[str, float]:
    """The stages of one change, from the delivery our receiver stored and the sync it enqueued (empty when
    either is missing or unfinished)."""
    from mirror.models import WebhookDelivery

    delivery = (
        WebhookDelivery.objects.filter(received_at__gte=_dt(wall_before - 0.05), sync_run__isnull=False)
        .select_related("sync_run")
        .order_by("received_at")
        .first()
    )
    if not (delivery and delivery.sync_run.started_at and delivery.sync_run.finished_at):
        return {}
    run = delivery.sync_run
    return {
        "delivery": delivery.received_at.timestamp() - wall_returned,
        "pickup": run.started_at.timestamp() - delivery.received_at.timestamp(),
        "sync": (run.finished_at - run.started_at).total_seconds(),
        "visible": wall_seen - run.finished_at.timestamp(),
    }


def measure_targeted_sync(name: str) -> tuple[list[float], list[float]]:
    """The targeted sync's own parts, measured in-process on the same model after the changes."""
    from mirror import gateway
    from mirror.sync import apply_snapshot

    reads, applies = [], []
    for _ in range(5):
        began = time.perf_counter()
        snapshot = gateway.read_model(name)
        reads.append(time.perf_counter() - began)
        began = time.perf_counter()
        apply_snapshot(snapshot)
        applies.append(time.perf_counter() - began)
    return reads, applies


def emit_figures(latencies, stages, per_kind, reads, applies) -> None:
    emit("changes", len(latencies))
    emit("p50_seconds", median(latencies))
    emit("p95_seconds", percentile(latencies, 95))
    emit("max_seconds", max(latencies))
    emit("mean_seconds", sum(latencies) / len(latencies))
    for kind, values in per_kind.items():
        emit(f"{kind}_p50_seconds", median(values))
    for key, values in stages.items():
        if values:
            emit(f"stage_{key}_p50_seconds", median(values))
            emit(f"stage_{key}_max_seconds", max(values))
    emit("targeted_read_p50_seconds", median(reads))
    emit("targeted_apply_p50_seconds", median(applies))
    emit("target_p50_seconds", 1.0)
    emit("target_p95_seconds", 2.0)
    emit("ratio", median(latencies) / 1.0)  # p50 against its 1 s target


def _dt(seconds: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, tz=UTC)


if __name__ == "__main__":
    main()
