"""Helpers of the fault suite's MLflow scenarios (tests/faults/; the shared ones are in faults.py): a front door
that kills a real MLflow server at a chosen request, a registry seeded quickly, and counts of what the mirror lost
or doubled against MLflow."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from demo.mlflow_process import HOST

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that hung up (a worker stopped at the end of a test) is no error of the front door."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class _Trap:
    matches: Callable[[str, str], bool]  # (method, path with query) -> bool
    after: int  # fire on this matching request (1-based), before forwarding it
    action: Callable[[], None]
    seen: int = 0
    fired: threading.Event = field(default_factory=threading.Event)


class MlflowFrontDoor:
    """A reverse proxy on a port of its own in front of a real MLflow server; the app is pointed at it.

    `kill_on(matches, after=n, action=server.kill)` runs `action` (SIGKILL of MLflow) when the n-th request
    `matches(method, path_and_query)` accepts arrives, before forwarding it: the kill lands at a known point of the app's work instead
    of wherever a timer happens to fall. A request that finds MLflow dead has its connection dropped without an
    answer, as the dead server's would be. `log` keeps (method, path, status) of every forwarded request."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.log: list[tuple[str, str, int | None]] = []
        self._traps: list[_Trap] = []
        self._lock = threading.Lock()
        door = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                door._handle(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

            def log_message(self, *args) -> None:
                pass

        self._server = _QuietServer((HOST, 0), Handler)
        self.uri = f"http://{HOST}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> MlflowFrontDoor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def kill_on(
        self, matches: Callable[[str, str], bool], *, after: int, action: Callable[[], None]
    ) -> _Trap:
        trap = _Trap(matches, after, action)
        with self._lock:
            self._traps.append(trap)
        return trap

    def _spring(self, method: str, path: str) -> None:
        with self._lock:  # one request at a time fires a trap; concurrent ones wait for the kill to finish
            for trap in self._traps:
                if not trap.fired.is_set() and trap.matches(method, path):
                    trap.seen += 1
                    if trap.seen >= trap.after:
                        trap.action()
                        trap.fired.set()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        method, path = handler.command, handler.path
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        self._spring(method, path)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = http.client.HTTPConnection(HOST, self.upstream_port, timeout=60)
        try:
            upstream.request(method, path, body=body or None, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):  # refused, or cut off mid-answer by the kill
            self.log.append((method, path, None))
            handler.close_connection = True  # no answer: the client sees the connection drop
            return
        finally:
            upstream.close()
        self.log.append((method, path, response.status))
        handler.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP:
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(payload)
        handler.close_connection = True


def seed_registry(uri: str, *, models: int, versions: int, prefix: str, threads: int = 4) -> list[str]:
    """`models` registered models of `versions` versions each (one source run per model, with a metric), tagged
    and aliased like a governed registry. Returns the model names."""
    import logging

    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = client.create_experiment(f"{prefix}-{time.monotonic_ns()}")
    names = [f"{prefix}-{i:02d}" for i in range(models)]

    def one_model(name: str) -> None:
        client.create_registered_model(name, tags={"primary_metric": "acc", "team": "faults"})
        run = client.create_run(experiment_id, run_name=name)
        client.log_metric(run.info.run_id, "acc", 0.9)
        for _ in range(versions):  # numbered in order: one model's versions are created one after another
            client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
        client.set_registered_model_alias(name, "champion", str(versions))
        client.set_model_version_tag(name, "1", "data_validated", "true")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one_model, names))
    return names


@dataclass
class Convergence:
    """The mirror against MLflow: `versions` in MLflow; `lost` models or versions missing from the mirror or
    different there (stage, status, tags, aliases, description, run); `duplicated` live mirror rows beyond one per
    MLflow object (rows doubled, or rows MLflow no longer has)."""

    versions: int
    lost: int
    duplicated: int
    problems: list[str]


def convergence(client) -> Convergence:
    from django.db.models import Count

    from mirror.models import ModelVersion, RegisteredModel

    problems: list[str] = []
    expected_models, expected_versions = {}, {}
    for rm in client.search_registered_models(max_results=1000):
        aliases = {a: int(v) for a, v in (rm.aliases or {}).items()}
        expected_models[rm.name] = (dict(rm.tags), aliases)
        for mv in client.search_model_versions(f"name='{rm.name}'", max_results=10000):
            number = int(mv.version)
            expected_versions[(rm.name, number)] = (
                mv.current_stage or "None",
                mv.status,
                dict(mv.tags),
                sorted(a for a, v in aliases.items() if v == number),
                mv.description or "",
                mv.run_id or "",
            )
    live_models = RegisteredModel.objects.live()
    mirror_models = {m.name: (m.tags, m.aliases) for m in live_models}
    live_versions = ModelVersion.objects.live().select_related("model")
    mirror_versions = {
        (v.model.name, v.version): (v.stage, v.status, v.tags, sorted(v.aliases), v.description, v.run_id)
        for v in live_versions
    }
    lost = 0
    for key, value in [*expected_models.items(), *expected_versions.items()]:
        actual = mirror_models.get(key) if isinstance(key, str) else mirror_versions.get(key)
        if actual != value:
            lost += 1
            problems.append(f"{key}: mlflow {value!r} != mirror {actual!r}")
    extra = [k for k in mirror_models if k not in expected_models]
    extra += [k for k in mirror_versions if k not in expected_versions]
    problems += [f"{key}: in the mirror, not in MLflow" for key in extra]
    doubled = sum(
        row["n"] - 1
        for row in live_versions.values("model__name", "version").annotate(n=Count("pk")).filter(n__gt=1)
    ) + sum(row["n"] - 1 for row in live_models.values("name").annotate(n=Count("pk")).filter(n__gt=1))
    return Convergence(len(expected_versions), lost, len(extra) + doubled, problems)
