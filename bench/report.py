"""Run every benchmark and write docs/performance.md: each figure with its baseline and ratio from the same run,
the target, pass or miss, the machine, and the command that reproduces it.

    make bench-report                                        # every benchmark, full size (an hour or more)
    make bench-report BENCH_ARGS="--quick"                   # each with its quick arguments (~15 min)
    .venv/bin/python bench/report.py --quick --only pages,audit --output /tmp/performance.md

Each benchmark runs as its `make bench-<name>` target in a subprocess, one after the other (never two at
once: they would time each other); `--quick` passes the quick arguments bench/README.md's table documents
for it (as BENCH_ARGS). A target the Makefile does not define yet is reported "not available"; a benchmark
that fails or runs past `--timeout` is reported as such with the end of its output, and the others still run.
Their `name: value` lines are judged by bench/reporting.py. Each run's full output goes to var/bench-report/.
Exits 1 when a benchmark failed or timed out (the report is written anyway), else 0: a missed target is a
figure to read, not an error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.reporting import TARGETS, BenchRun, Report, make_targets, quick_args, render_markdown

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "docs" / "performance.md"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", help=f"comma-separated benchmarks, of: {','.join(TARGETS)}")
    parser.add_argument("--quick", action="store_true", help="each benchmark's documented quick arguments")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--timeout", type=float, help="seconds per benchmark (default 900 quick, 5400 full)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else list(TARGETS)
    unknown = sorted(set(names) - set(TARGETS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    args.names = names
    args.timeout = args.timeout or (900.0 if args.quick else 5400.0)
    return args


def main() -> int:
    args = parse_args()
    available = make_targets((REPO / "Makefile").read_text())
    documented = quick_args((REPO / "bench" / "README.md").read_text())
    report = Report(
        quick=args.quick,
        started=now(),
        finished="",
        code=git_description(),
        machine=machine(),
        load_before=os.getloadavg(),
        load_after=os.getloadavg(),
        environment=services_line(),
    )
    failed = False
    for name in TARGETS:
        if name not in args.names:
            report.runs.append(BenchRun(name, "not run"))
        elif name not in available:
            report.runs.append(BenchRun(name, "not available"))
        else:
            run = run_benchmark(name, documented.get(name) if args.quick else None, args)
            failed |= run.status != "ran"
            report.runs.append(run)
    report.finished = now()
    report.load_after = os.getloadavg()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render_markdown(report))
    print(f"# wrote {args.output}", file=sys.stderr)
    return 1 if failed else 0


def run_benchmark(name: str, quick: str | None, args: argparse.Namespace) -> BenchRun:
    """`make bench-<name>` in its own process group, stdout kept, everything logged to var/bench-report/."""
    bench_args = quick if args.quick and quick else ""
    shown = f"make bench-{name}" + (f' BENCH_ARGS="{bench_args}"' if bench_args else "")
    note = "" if not args.quick or quick else "no quick run documented: full size"
    overrides = [f"{var}={value}" for var, value in make_overrides().items()]
    # -o: the report already runs in the venv; a sub-make must not reinstall it because pyproject.toml is newer.
    command = [
        "make",
        "--no-print-directory",
        "--silent",
        "-o",
        f"{venv()}/.installed",
        f"bench-{name}",
        *overrides,
    ]
    if bench_args:
        command.append(f"BENCH_ARGS={bench_args}")
    log_dir = REPO / "var" / "bench-report"
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"# running {shown}", file=sys.stderr, flush=True)
    run = BenchRun(name, "ran", command=shown, note=note, load_before=os.getloadavg())
    began = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        stdout, stderr = proc.communicate()
        run.status = f"timed out after {args.timeout:.0f} s"
    run.seconds = time.perf_counter() - began
    run.load_after = os.getloadavg()
    run.stdout = stdout
    if proc.returncode and run.status == "ran":
        run.status = f"failed (exit {proc.returncode})"
    if run.status != "ran":
        run.error_tail = "\n".join((stderr or stdout).splitlines()[-15:])
    (log_dir / f"{name}.log").write_text(f"$ {' '.join(command)}\n{stdout}\n--- stderr ---\n{stderr}")
    print(f"# {name}: {run.status} in {run.seconds:.0f} s", file=sys.stderr, flush=True)
    return run


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the benchmark's process group (the benchmarks drop their databases on the way out)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def venv() -> str:
    return os.environ.get("VENV", ".venv")


def make_overrides() -> dict[str, str]:
    """The database and broker this report runs against, passed on to each target (the Makefile's
    TEST_DATABASE_URL / TEST_REDIS_URL): DATABASE_URL and REDIS_URL when set."""
    found = {}
    if os.environ.get("DATABASE_URL"):
        found["TEST_DATABASE_URL"] = os.environ["DATABASE_URL"]
    if os.environ.get("REDIS_URL"):
        found["TEST_REDIS_URL"] = os.environ["REDIS_URL"]
    return found


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def services_line() -> str:
    overrides = make_overrides()
    if not overrides:
        return "the Makefile's defaults (TEST_DATABASE_URL, TEST_REDIS_URL)"
    shown = ", ".join(f"{k}={redact(v)}" for k, v in overrides.items())
    return f"{shown} (each benchmark creates and drops its own throwaway database beside it)"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def git_description() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"`{commit}`" + (" with uncommitted changes" if dirty else "")


def machine() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown",
    )
    mem_kb = next(
        (int(line.split()[1]) for line in _read("/proc/meminfo").splitlines() if "MemTotal" in line), 0
    )
    os_name = next(
        (
            line.split("=", 1)[1].strip('"')
            for line in _read("/etc/os-release").splitlines()
            if "PRETTY_NAME" in line
        ),
        platform.system(),
    )
    try:
        mlflow_version = version("mlflow")
    except PackageNotFoundError:
        mlflow_version = "not installed"
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "RAM": f"{mem_kb / 1024 / 1024:.1f} GiB" if mem_kb else "unknown",
        "OS": f"{os_name}, {platform.system()} {platform.release()}",
        "Python / MLflow": f"{platform.python_version()} / {mlflow_version}",
        "PostgreSQL / Redis": f"{postgres_version()} / {redis_version()}",
    }


def postgres_version() -> str:
    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/registry_governance"
    try:
        import psycopg

        parts = urlsplit(url)
        with psycopg.connect(
            host=parts.hostname or "127.0.0.1", port=parts.port or 5432, user=parts.username or "postgres",
            password=parts.password or None, dbname="postgres", connect_timeout=5,
        ) as conn:  # fmt: skip
            return str(conn.execute("SHOW server_version").fetchone()[0])
    except Exception as exc:
        return f"unknown ({type(exc).__name__})"


def redis_version() -> str:
    try:
        import redis

        info = redis.Redis.from_url(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15").info("server")
        return str(info["redis_version"])
    except Exception as exc:
        return f"unknown ({type(exc).__name__})"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
