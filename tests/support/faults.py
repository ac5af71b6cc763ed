"""Helpers of the fault suite (tests/faults/): a private Redis server to stop and start, killing a worker with
its children, waiting on the worker's log, what beat does (the sweeps) run from the test, and counting
duplicates and losses from the rows and the audit chain."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

REDIS_SERVER = "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(
    condition: Callable[[], object], timeout: float, what: str, *, every: Callable[[], object] | None = None
):
    """Poll `condition` until it is truthy (its value returned) or `timeout` seconds pass; `every` runs before
    each poll (the beat sweeps)."""
    deadline = time.monotonic() + timeout
    while True:
        if every is not None:
            every()
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


class RedisServer:
    """A private `redis-server` on a free port with its own directory, without persistence: stopping it with
    SIGKILL loses every message it held, the worst a restart can do."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = directory / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction", "--logfile", str(self.log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_for(self.ping, 20, "the private Redis to answer")
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: a crash; everything in memory is gone."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None


def point_celery_at(url: str) -> None:
    """Send this process's Celery messages (the test's and the live server's) to the broker at `url`."""
    from kombu import pools

    from registry_ui.celery import app

    app.conf.broker_url = url
    # kombu keeps its connection and producer pools per broker address, process-wide: close and forget them
    # all, or a pool closed here would be handed out again for the same address later.
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


def kill_worker(proc: subprocess.Popen) -> None:
    """SIGKILL the worker and its children (its own session): no shutdown, no acknowledgement, no cleanup."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def worker_log(tmp_path: Path, n: int) -> str:
    """The n-th worker's log (the `celery_workers` fixture writes worker-<n>.log in the test's tmp_path)."""
    return (tmp_path / f"worker-{n}.log").read_text()


def stalled(tmp_path: Path, n: int, what: str) -> list[str]:
    """The ids the n-th worker reported stalling on in `what` (tests/faults/stall.py's log lines)."""
    marker = f"FAULT-STALL {what} "
    return [
        line.split(marker, 1)[1].split()[0] for line in worker_log(tmp_path, n).splitlines() if marker in line
    ]


def beat(*sweeps: Callable[[], object]) -> Callable[[], None]:
    """What beat does, run from the test on each poll: the named sweeps."""

    def tick() -> None:
        for sweep in sweeps:
            sweep()

    return tick


def repeats(values: Iterable[object]) -> int:
    """How many values appear more than once, counted beyond their first appearance."""
    return sum(n - 1 for n in Counter(values).values() if n > 1)
