"""Promotion benchmark: N promotions through gates, a quorum of two signatures and the outbox apply, with one
Celery worker; latency from the last signature to the alias moved in MLflow.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_governance REDIS_URL=redis://127.0.0.1:6379/15 \
        .venv/bin/python bench/promotion.py
    .venv/bin/python bench/promotion.py --promotions 20       # a quick run

Runs standalone (bench/_support.py): a throwaway PostgreSQL database, its own `mlflow server`, one Celery
worker process (threads pool) on a queue of its own. One model with two versions; each promotion moves the
`bench` alias to the version not holding it (so MLflow really changes every time), one after the other:
request → gates (worker) → two signatures (this process, password re-authentication) → the worker applies
the outbox row → this process polls MLflow every 10 ms until the alias points at the version.
Prints `promotions`, `apply_p50_seconds`, `apply_p95_seconds`, `apply_max_seconds` (last signature → alias
moved in MLflow; target p95 <= 2 s), `gates_p50_seconds` (request → awaiting approval) and `total_seconds`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import (
    bench_environment,
    emit,
    median,
    mlflow_client,
    mlflow_server,
    note,
    percentile,
    populate,
)
from bench.webhook import child

BENCH_POLICY = """
version: 1
targets:
  bench:
    mlflow: {alias: bench}
    approvals: 2
    approver_groups: [approvers]
    gates:
      - version_ready
      - metric_threshold: {metric: m0, min: 0}
"""


def wait_for(predicate, timeout: float, what: str, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--promotions", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=60.0, help="give up on one step after this long")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-promotion-"))
    policy_path = tmp / "policies.yaml"
    policy_path.write_text(BENCH_POLICY)
    with (
        mlflow_server() as server,
        bench_environment(mlflow_uri=server.uri, extra_env={"POLICY_PATH": str(policy_path)}) as env,
    ):
        from registry_ui.celery import worker_command

        name, requester, approvers = set_up(server.uri)
        client = mlflow_client(server.uri)
        worker_log = tmp / "worker.log"
        worker_cmd = worker_command(queue=env["CELERY_DEFAULT_QUEUE"], isolated=True)
        with child(worker_cmd, env, worker_log, lambda: "ready." in worker_log.read_text(), "celery worker"):
            began = time.perf_counter()
            apply_latencies, gate_latencies = measure(args, client, name, requester, approvers)
            total = time.perf_counter() - began

        emit("promotions", len(apply_latencies))
        emit("apply_p50_seconds", median(apply_latencies))
        emit("apply_p95_seconds", percentile(apply_latencies, 95))
        emit("apply_max_seconds", max(apply_latencies))
        emit("gates_p50_seconds", median(gate_latencies))
        emit("total_seconds", total)


def set_up(uri: str):
    """A synced model with two versions, a requester and two approvers."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from audit import roles
    from mirror.models import SyncRun
    from mirror.sync import execute_sync

    [name] = populate(uri, models=1, versions=2, prefix="promo-model")
    run = execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk)
    note(f"mirror synced: {run.status}")
    users = get_user_model().objects
    requester = users.create_user("bench-requester", password="bench-pw")
    requester.groups.add(Group.objects.get(name=roles.ML_ENGINEERS))
    approvers = []
    for i in range(2):
        u = users.create_user(f"bench-approver-{i}", password="bench-pw")
        u.groups.add(Group.objects.get(name=roles.APPROVERS))
        approvers.append(u)
    return name, requester, approvers


def measure(args, client, name: str, requester, approvers) -> tuple[list[float], list[float]]:
    """Request, pass the gates, sign twice and wait for the alias move, ``--promotions`` times; the seconds
    from the signatures to the alias move, and from the request to the gates passed."""
    from approvals.models import Promotion
    from approvals.workflow import requests, signatures

    apply_latencies: list[float] = []
    gate_latencies: list[float] = []
    for i in range(args.promotions):
        version = 1 + (i % 2)
        t_request = time.perf_counter()
        p = requests.promotion_request(
            user=requester,
            model_name=name,
            version=version,
            target="bench",
            justification=f"bench {i}",
        )
        wait_for(
            lambda pk=p.pk: Promotion.objects.filter(pk=pk, state="awaiting_approval").exists(),
            args.timeout,
            f"gates of promotion {p.pk}",
            interval=0.005,
        )
        gate_latencies.append(time.perf_counter() - t_request)
        signatures.approval_grant(promotion_id=p.pk, user=approvers[0], password="bench-pw")
        signatures.approval_grant(promotion_id=p.pk, user=approvers[1], password="bench-pw")
        t_signed = time.perf_counter()
        wait_for(
            lambda v=str(version): client.get_registered_model(name).aliases.get("bench") == v,
            args.timeout,
            f"alias move of promotion {p.pk}",
        )
        apply_latencies.append(time.perf_counter() - t_signed)
        # the next promotion needs this one closed (applied) before MLflow and the mirror agree
        wait_for(
            lambda pk=p.pk: Promotion.objects.filter(pk=pk, state="applied").exists(),
            args.timeout,
            f"promotion {p.pk} applied",
        )
        if (i + 1) % 25 == 0:
            note(f"{i + 1} promotions, apply p50 so far {median(apply_latencies):.3f} s")
    return apply_latencies, gate_latencies


if __name__ == "__main__":
    main()
