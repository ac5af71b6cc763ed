"""Load benchmark: locust users against the app run as in production, on a mirror of 10,000 versions.

    make bench-load
    .venv/bin/python bench/load.py --users 5 --duration 15s --models 20 --versions 200     # a quick run

Everything runs on loopback in separate processes: an `mlflow server`, the app under gunicorn (DEBUG off,
static files from whitenoise's manifest, `--web-workers` × `--web-threads`), two Celery workers (threads) on a
queue of the benchmark's own on Redis, a throwaway PostgreSQL database, and locust (headless, its own process,
`bench/locustfile.py`) for `--duration`. What is real and what is written in bulk: `bench/load_world.py`.
No beat: its reconcile would read the small real registry and mark the bulk-written models deleted.

Prints one line per endpoint (requests/s, p50/p95/p99 in ms, requests, failures), then `pages_p95_ms` (every
read that is not lineage: pages and read API), `lineage_p95_ms` (lineage pages and API, the ≈ 520-node dataset
graph among them), `lineage_500_p95_ms` (that graph alone), `floor_p95_ms` (`/healthz`: no database, no
template — what any answer takes on the machine at that moment), `failure_ratio` (failed / all requests,
logins and writes included), the promotions filed, signed and applied (and whether MLflow's alias agrees
with the last applied promotion of each real model), the load average, the CPU each part used, the errors the
servers logged, and `ratio` = pages_p95_ms / 300 (targets: pages p95 ≤ 300 ms, lineage p95 ≤ 1 s on a
500-node graph, failures < 0.1 %).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import (
    REPO,
    bench_environment,
    emit,
    mlflow_server,
    note,
    percentile,
    served_like_make_run,
)
from bench.load_world import POLICY, build, roles_for
from bench.webhook import child, http_ok

TARGETS = {"pages_p95_ms": 300, "lineage_p95_ms": 1000, "failure_ratio": 0.001}
# Longer than a user's longest think time: with gunicorn's default (2 s) the server closes an idle keep-alive
# connection while the user, 1-3 s later, sends its next request on it, and a POST is not retried (locust's
# client reports "connection closed"). A proxy in front of gunicorn owns this timeout in production.
KEEP_ALIVE = 10


def seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)([smh]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"a duration like 120, 15s, 2m: not {text!r}")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started per second")
    parser.add_argument("--duration", type=seconds, default=120, help="120, 15s, 2m")
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--think", default="1,3", help="each user's wait between tasks, min,max seconds")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--csv", help="keep locust's own CSV statistics in this directory")
    args = parser.parse_args()
    if args.users < 3:
        parser.error("--users must be at least 3 (a requester and a pair of approvers)")
    return args


def main() -> None:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    policy = tmp / "policies.yaml"
    policy.write_text(POLICY)
    try:
        with (
            mlflow_server() as server,
            bench_environment(
                mlflow_uri=server.uri, extra_env={**served_like_make_run(), "POLICY_PATH": str(policy)}
            ) as env,
        ):
            from demo.management.commands.devstack import collect_static_once

            if collect_static_once(
                env, REPO, on_start=lambda: note("collecting static files (about a minute)")
            ):
                note("static files collected")
            plan = build(server.uri, models=args.models, versions=args.versions, users=args.users)
            plan_path = tmp / "plan.json"
            plan_path.touch(mode=0o600)
            plan_path.write_text(json.dumps(plan))
            with servers(args, env, tmp) as running:
                meter = CpuMeter(running, server, env["DATABASE_URL"])
                samples, loads = run_locust(args, env, running.base, plan_path, tmp)
                cpu = meter.used()
            report(args, samples, loads, plan, server.uri)
            report_cpu(cpu, samples)
            report_logs(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class servers:
    """gunicorn and two Celery workers on the benchmark's queue (`base`: the app's URL)."""

    def __init__(self, args, env: dict[str, str], tmp: Path) -> None:
        self.args, self.env, self.tmp = args, env, tmp

    def __enter__(self) -> str:
        from contextlib import ExitStack

        from demo.mlflow_process import free_port
        from registry_ui.celery import worker_command

        port = free_port()
        self.base = base = f"http://127.0.0.1:{port}"
        web = [sys.executable, "-m", "gunicorn", "registry_ui.wsgi", "--bind", f"127.0.0.1:{port}",
               "--workers", str(self.args.web_workers), "--threads", str(self.args.web_threads),
               "--keep-alive", str(KEEP_ALIVE), "--log-level", "warning"]  # fmt: skip
        self.stack = ExitStack()
        self.web = self.stack.enter_context(
            child(web, self.env, self.tmp / "web.log", lambda: http_ok(f"{base}/healthz"), "gunicorn")
        )
        self.workers = []
        for i in (1, 2):
            log = self.tmp / f"worker-{i}.log"
            command = [
                *worker_command(queue=self.env["CELERY_DEFAULT_QUEUE"], isolated=True),
                "-n",
                f"load{i}@%h",
            ]
            self.workers.append(
                self.stack.enter_context(
                    child(command, self.env, log, lambda log=log: "ready." in log.read_text(), f"worker {i}")
                )
            )
        note(
            f"gunicorn at {base} ({self.args.web_workers} workers × {self.args.web_threads} threads), 2 Celery workers"
        )
        return self

    def __exit__(self, *exc) -> None:
        self.stack.close()


class CpuMeter:
    """CPU seconds each part of the stack used while locust ran (process trees, and PostgreSQL's backends on the
    benchmark's database): what the load cost, apart from what other work on the machine took."""

    def __init__(self, running: servers, mlflow, database_url: str) -> None:
        self.roots = {"web": [running.web.pid], "workers": [w.pid for w in running.workers],
                      "mlflow": [mlflow._proc.pid]}  # fmt: skip
        self.database = database_url.rsplit("/", 1)[-1]
        self.locust_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.before = self._per_process()

    def _per_process(self) -> dict[int, tuple[str, float]]:
        out: dict[int, tuple[str, float]] = {}
        for part, pids in self.roots.items():
            for pid in pids:
                with contextlib.suppress(psutil.Error):
                    root = psutil.Process(pid)
                    for proc in [root, *root.children(recursive=True)]:
                        with contextlib.suppress(psutil.Error):
                            times = proc.cpu_times()
                            out[proc.pid] = (part, times.user + times.system)
        for proc in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.Error, TypeError):
                if proc.info["cmdline"] and self.database in " ".join(proc.info["cmdline"]):
                    times = proc.cpu_times()
                    out[proc.pid] = ("postgres", times.user + times.system)
        return out

    def used(self) -> dict[str, float]:
        after = self._per_process()
        totals: dict[str, float] = {}
        for pid, (part, seconds) in after.items():
            totals[part] = totals.get(part, 0.0) + seconds - self.before.get(pid, (part, 0.0))[1]
        locust = resource.getrusage(resource.RUSAGE_CHILDREN)
        totals["locust"] = (locust.ru_utime + locust.ru_stime) - (
            self.locust_before.ru_utime + self.locust_before.ru_stime
        )
        return totals


def report_cpu(cpu: dict[str, float], samples: list) -> None:
    """CPU seconds by part, and the web's and database's CPU milliseconds per request (load-independent)."""
    emit("cpu_seconds", " ".join(f"{k}={v:.1f}" for k, v in sorted(cpu.items())))
    emit("web_cpu_ms_per_request", round(1000 * cpu.get("web", 0.0) / max(1, len(samples)), 1))
    emit("postgres_cpu_ms_per_request", round(1000 * cpu.get("postgres", 0.0) / max(1, len(samples)), 1))


def report_logs(tmp: Path) -> None:
    """Errors the web server and the workers logged (a gunicorn worker killed for a timeout drops its requests)."""
    problems = []
    for log in sorted(tmp.glob("*.log")):
        problems += [f"{log.stem}: {line.strip()}" for line in log.read_text(errors="replace").splitlines()
                     if re.search(r"WORKER TIMEOUT|Traceback|\bERROR\b|CRITICAL", line)]  # fmt: skip
    for line in problems[:10]:
        note(line[:300])
    emit("logged_errors", len(problems))


def run_locust(args, env: dict[str, str], base: str, plan_path: Path, tmp: Path):
    """locust, headless, for the duration; the samples it recorded and the load averages seen meanwhile."""
    roles = roles_for(args.users)
    samples_path = tmp / "samples.json"
    csv_prefix = str(Path(args.csv) / "load") if args.csv else str(tmp / "locust")
    if args.csv:
        Path(args.csv).mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "locust", "-f", str(REPO / "bench" / "locustfile.py"), "--headless",
               "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.duration}s", "--host", base,
               "--stop-timeout", "15", "--only-summary", "--csv", csv_prefix, "--loglevel", "WARNING"]  # fmt: skip
    locust_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))},
        "LOAD_PLAN": str(plan_path),
        "LOAD_SAMPLES": str(samples_path),
        "LOAD_THINK": args.think,
        "LOAD_BROWSERS": str(roles["browsers"]),
        "LOAD_REQUESTERS": str(roles["requesters"]),
        "LOAD_APPROVERS": str(roles["signers"]),
    }
    loads: list[tuple[float, float, float]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(5):
            loads.append(os.getloadavg())

    note(f"locust: {args.users} users ({roles}) for {args.duration} s, think {args.think} s")
    loads.append(os.getloadavg())
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        subprocess.run(command, cwd=REPO, env=locust_env, stdout=sys.stderr, stderr=sys.stderr,
                       timeout=args.duration + 120)  # fmt: skip
    finally:
        stop.set()
    loads.append(os.getloadavg())
    if not samples_path.exists():
        raise SystemExit("locust wrote no samples (see its output above)")
    return json.loads(samples_path.read_text()), loads


def _is_lineage(name: str) -> bool:
    return name.startswith("lineage:")


def _is_read(name: str, method: str) -> bool:
    return method == "GET" and not name.startswith(("login", "lineage:", "floor:"))


def steady_window(samples: list) -> tuple[float, float, float]:
    """(first request, last login done, last request done) in epoch seconds: figures are taken after every user
    has logged in (50 password hashes in the first seconds are the ramp-up, not the steady load)."""
    begin = min(s[4] for s in samples)
    end = max(s[4] + s[2] / 1000 for s in samples)
    logged_in = max((s[4] + s[2] / 1000 for s in samples if s[0] == "login"), default=begin)
    return begin, min(logged_in, end), end


def report(args, samples: list, loads: list, plan: dict, mlflow_uri: str) -> None:
    begin, steady, end = steady_window(samples)
    measured = [s for s in samples if s[4] >= steady or s[0].startswith("login")]
    by_name: dict[str, list] = {}
    for name, method, ms, failure, _ in measured:
        by_name.setdefault(name, []).append((ms, failure, method))
    failures = [s for s in samples if s[3]]
    for name in sorted(by_name):
        rows = by_name[name]
        times = [ms for ms, _, _ in rows]
        failed = sum(1 for _, f, _ in rows if f)
        seconds = (end - begin) if name.startswith("login") else (end - steady)
        key = "endpoint_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        emit(key, f"rps={len(rows) / seconds:.2f} p50_ms={percentile(times, 50):.0f} "
                  f"p95_ms={percentile(times, 95):.0f} p99_ms={percentile(times, 99):.0f} "
                  f"requests={len(rows)} failures={failed}")  # fmt: skip
    for sample in failures[:10]:
        note(f"failure: {sample[1]} {sample[0]} after {sample[2]:.0f} ms: {sample[3]}")
    steady_rows = [s for s in measured if not s[0].startswith("login")]
    pages = [ms for name, method, ms, _, _ in steady_rows if _is_read(name, method)]
    lineage = [ms for name, _, ms, _, _ in steady_rows if _is_lineage(name)]
    big = [ms for name, _, ms, _, _ in steady_rows if name.startswith("lineage: dataset")]
    figures = {
        "pages_p95_ms": percentile(pages, 95) if pages else 0.0,
        "lineage_p95_ms": percentile(lineage, 95) if lineage else 0.0,
        "failure_ratio": len(failures) / max(1, len(samples)),
    }
    emit("warmup_seconds", round(steady - begin, 1))
    emit("measured_seconds", round(end - steady, 1))
    emit("requests", len(samples))
    emit("requests_per_second", round(len(steady_rows) / max(1e-9, end - steady), 2))
    emit("pages_p50_ms", round(percentile(pages, 50), 1) if pages else 0.0)
    emit("pages_p95_ms", round(figures["pages_p95_ms"], 1))
    emit("lineage_p95_ms", round(figures["lineage_p95_ms"], 1))
    emit("lineage_500_p95_ms", round(percentile(big, 95), 1) if big else 0.0)
    floor = [ms for name, _, ms, _, _ in steady_rows if name.startswith("floor:")]
    emit("floor_p95_ms", round(percentile(floor, 95), 1) if floor else 0.0)
    emit("failure_ratio", f"{figures['failure_ratio']:.5f}")
    promotions_report(plan, mlflow_uri)
    ones = [one for one, _, _ in loads]
    emit("load_average_1min", f"mean {sum(ones) / len(ones):.2f}, max {max(ones):.2f}")
    emit("ratio_lineage", round(figures["lineage_p95_ms"] / TARGETS["lineage_p95_ms"], 3))
    emit("ratio_failures", round(figures["failure_ratio"] / TARGETS["failure_ratio"], 3))
    emit("ratio", round(figures["pages_p95_ms"] / TARGETS["pages_p95_ms"], 3))


def promotions_report(plan: dict, mlflow_uri: str) -> None:
    """How many promotions were filed, signed and applied, and whether MLflow holds what was applied last."""
    from django.db.models import Count

    from approvals.models import Approval, Promotion
    from bench._support import mlflow_client

    states = dict(Promotion.objects.values_list("state").annotate(n=Count("id")))
    emit("promotions_filed", sum(states.values()))
    emit("promotions_by_state", " ".join(f"{k}={v}" for k, v in sorted(states.items())) or "none")
    emit("signatures", Approval.objects.count())
    client = mlflow_client(mlflow_uri)
    agree = 0
    for name in plan["real_models"]:
        last = Promotion.objects.filter(model__name=name, state="applied").order_by("-applied_at").first()
        alias = client.get_registered_model(name).aliases.get(plan["target"])
        agree += (last is None and alias is None) or (last is not None and alias == str(last.version.version))
    emit("mlflow_alias_agrees", f"{agree}/{len(plan['real_models'])} real models")


if __name__ == "__main__":
    main()
