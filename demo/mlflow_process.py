"""Start and stop a real local ``mlflow server`` process.

Used by integration tests, the embedded (one machine, no servers) setup and the demo. The server
runs in its own process group so that ``stop()`` also ends the uvicorn worker it spawns.
"""

from __future__ import annotations

import atexit
import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"
SECRET_KEY_FILE = "webhook-secret-encryption.key"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def _mlflow_executable() -> str:
    # Prefer the mlflow installed beside the running interpreter (the venv), not one on PATH.
    candidate = Path(sys.executable).with_name("mlflow")
    return str(candidate) if candidate.exists() else "mlflow"


def webhook_secret_key_for(root: Path) -> str:
    """The Fernet key MLflow encrypts webhook secrets with, created once per store and kept in it.

    MLflow passes ``MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY`` straight to ``cryptography``'s
    ``Fernet``: 32 random bytes, url-safe base64 (44 characters). Without the variable it
    generates a random key per process, so webhook secrets stored before a restart could no
    longer be decrypted: the key must outlive the server process, hence the file.
    """
    path = root / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


class MlflowServer:
    """A local MLflow tracking server over a SQLite store and proxied artifacts under ``root``."""

    def __init__(
        self,
        root: Path,
        port: int | None = None,
        *,
        webhook_secret_key: str | None = None,
        log_path: Path | None = None,
        webhook_cache_ttl: int = 60,
        allowed_hosts: list[str] | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.port = port or free_port()
        self.uri = f"http://{HOST}:{self.port}"
        self.webhook_secret_key = webhook_secret_key
        self.log_path = log_path or self.root / "mlflow-server.log"
        self.webhook_cache_ttl = webhook_cache_ttl
        # None keeps MLflow's default: localhost and 127.0.0.1 on any port, and private IPs.
        self.allowed_hosts = allowed_hosts
        self._proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None

    @property
    def backend_store_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    @property
    def artifacts_destination(self) -> Path:
        return self.root / "artifacts"

    def _command(self) -> list[str]:
        command = [
            _mlflow_executable(),
            "server",
            "--backend-store-uri",
            self.backend_store_uri,
            # Clients upload and download artifacts through the server (mlflow-artifacts:/),
            # as they would against a remote server; the files land in artifacts_destination.
            "--serve-artifacts",
            "--default-artifact-root",
            "mlflow-artifacts:/",
            "--artifacts-destination",
            str(self.artifacts_destination),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        if self.allowed_hosts:
            command += ["--allowed-hosts", ",".join(self.allowed_hosts)]
        return command

    def _environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            # A tracking URI or store settings meant for the caller must not leak into the server.
            if not key.startswith(("MLFLOW_TRACKING_", "MLFLOW_REGISTRY_", "MLFLOW_BACKEND_"))
        }
        env.update(
            {
                # Without this MLflow 3.17 also starts a job runner and huey consumers
                # (about 13 processes and 3 GB instead of 2 processes).
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
                # Our webhook receiver lives on a private address over plain http.
                "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
                "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
                "MLFLOW_WEBHOOK_CACHE_TTL": str(self.webhook_cache_ttl),
                "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": self.webhook_secret_key
                or webhook_secret_key_for(self.root),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def start(self, timeout: float = 60) -> MlflowServer:
        """Start the server and wait until ``GET /health`` answers 200."""
        if self.is_running():
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        self.artifacts_destination.mkdir(parents=True, exist_ok=True)
        if not _port_is_free(self.port):
            # Otherwise /health could be answered by whatever already listens there.
            raise RuntimeError(f"port {self.port} is already in use; cannot start MLflow there")
        began = time.monotonic()
        log = open(self.log_path, "ab")  # the child keeps writing to it
        try:
            self._proc = subprocess.Popen(
                self._command(),
                cwd=self.root,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        _live_servers.add(self)
        deadline = began + timeout
        while True:
            if self._proc.poll() is not None:
                tail = self._log_tail()
                self._proc = None
                raise RuntimeError(f"mlflow server exited during start-up:\n{tail}")
            if self._healthy():
                break
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"mlflow server not healthy after {timeout:.0f} s:\n{self._log_tail()}")
            time.sleep(0.2)
        self.startup_seconds = time.monotonic() - began
        return self

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def _log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Terminate the whole process group and wait for it to go."""
        proc = self._proc
        if proc is None:
            return
        pgid = proc.pid  # start_new_session: the leader's pid is the group id
        self._signal_group(pgid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._signal_group(pgid, signal.SIGKILL)
            proc.wait(timeout=10)
        # The leader is gone; make sure its children (the uvicorn worker) are too.
        deadline = time.monotonic() + 10
        while self._group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._group_alive(pgid):
            self._signal_group(pgid, signal.SIGKILL)
        self._proc = None
        _live_servers.discard(self)

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash would: no shutdown, requests in flight cut off (the
        fault suite). `start()` brings it back on the same port over the same store."""
        proc = self._proc
        if proc is None:
            return
        self._signal_group(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self._group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._proc = None
        _live_servers.discard(self)

    @staticmethod
    def _signal_group(pgid: int, sig: int) -> None:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    @staticmethod
    def _group_alive(pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def restart(self) -> None:
        """Stop, then start again on the same port over the same store."""
        self.stop()
        self.start()

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<MlflowServer {self.uri} {state} root={self.root}>"


# Servers a crashed test or an interrupted demo forgot to stop are ended at interpreter exit.
_live_servers: set[MlflowServer] = set()


@atexit.register
def _stop_forgotten_servers() -> None:
    for server in list(_live_servers):
        server.stop()
