"""`make run`: the whole product on one machine with embedded defaults.

Starts (or reuses) a local MLflow server seeded once with real demo models — unless MLFLOW_TRACKING_URI
points at an existing server — creates the demo users, mirrors the registry, registers the webhook, and
runs web (gunicorn), a Celery worker and beat until Ctrl-C, which stops everything it started. A tiny receiver
of outbound events (demo.receiver, on loopback, allowed through OUTBOUND_ALLOWED_HOSTS) is subscribed to every
event and prints each delivery it verifies.

Web, worker and beat run with DEBUG off, as in production: anonymous visitors get the styled error pages,
never Django's debug pages (settings, paths, the broker URL), and static files are served compressed under
hashed names. The secrets that production settings require are generated once and kept in var/ (0600);
only what a plain-http loopback server cannot have (TLS redirect, secure cookies, HSTS) is turned off.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from demo.mlflow_process import MlflowServer
from events import subscriptions
from events.catalog import EVENTS
from events.models import Subscription
from registry_ui.celery import worker_command

RECEIVER_PORT = int(os.environ.get("EVENT_RECEIVER_PORT") or 0)  # 0: a free port


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _local_secret(path: Path, nbytes: int) -> str:
    """A random secret made on first use and kept owner-only in var/, so restarts keep sessions and webhooks."""
    if path.exists() and path.read_text().strip():
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)  # an existing empty file keeps its mode through os.open
    return value


def serving_env(host: str, port: int) -> dict[str, str]:
    """Production settings for web, worker and beat on this machine; what the caller's environment sets wins."""
    var = Path(settings.VAR_DIR)
    hosts = ["127.0.0.1", "localhost", "[::1]"]
    if host not in hosts and host not in ("0.0.0.0", "::"):
        hosts.append(host)
    defaults = {
        "DEBUG": "false",
        "ALLOWED_HOSTS": ",".join(hosts),
        "SITE_URL": f"http://{host}:{port}",
        # Plain http on loopback: no TLS to redirect to, and cookies marked Secure would never come back.
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "SECURE_HSTS_SECONDS": "0",
        "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",  # the demo's own event receiver
    }
    chosen = {k: v for k, v in os.environ.items() if k in defaults}
    chosen["SECRET_KEY"] = os.environ.get("SECRET_KEY") or _local_secret(var / "secret_key", 48)
    chosen["MLFLOW_WEBHOOK_SECRET"] = os.environ.get("MLFLOW_WEBHOOK_SECRET") or _local_secret(
        var / "webhook_secret", 32
    )
    # The key the chain was sealed with so far (made under var/ by the DEBUG-on settings of this process).
    chosen["AUDIT_CHAIN_KEY"] = os.environ.get("AUDIT_CHAIN_KEY") or settings.AUDIT_CHAIN_KEY
    # Likewise the key the subscriptions' secrets were sealed with (var/outbound-secrets.key).
    chosen["OUTBOUND_SECRETS_KEY"] = os.environ.get("OUTBOUND_SECRETS_KEY") or settings.OUTBOUND_SECRETS_KEY
    return {**defaults, **chosen}


def static_sources_digest() -> str:
    """Fingerprint of every file collectstatic would copy (path, size, mtime)."""
    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in sorted(finder.list(["CVS", ".*", "*~"]), key=lambda item: item[0]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def collect_static_once(env: dict, cwd: Path, on_start=lambda: None) -> bool:
    """Hashed, gzip- and brotli-compressed copies in STATIC_ROOT for whitenoise, made with `env`'s settings
    (DEBUG off: compressed manifest storage); redone only when a source file changed, because compressing
    plotly's bundle takes about a minute of CPU. Returns whether it ran."""
    stamp = Path(settings.STATIC_ROOT) / ".sources.sha256"
    digest = static_sources_digest()
    if stamp.exists() and stamp.read_text().strip() == digest:
        return False
    on_start()
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        env={**env, "STATIC_ROOT": str(settings.STATIC_ROOT)},
        cwd=cwd,
        check=True,
    )
    stamp.write_text(digest + "\n")
    return True


def _healthy(uri: str) -> bool:
    try:
        return requests.get(uri.rstrip("/") + "/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


class Command(BaseCommand):
    help = "Run the product locally: MLflow (seeded), web, worker and beat. Ctrl-C stops them all."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--mlflow-port", type=int, default=int(os.environ.get("MLFLOW_PORT", "5500")))
        parser.add_argument(
            "--no-seed", action="store_true", help="Do not seed the local MLflow with demo models."
        )

    def handle(self, *args, host, port, mlflow_port, no_seed, **options):
        self.children: list[subprocess.Popen] = []
        self.mlflow: MlflowServer | None = None
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            uri = self._mlflow(mlflow_port, seed=not no_seed)
            serving = serving_env(host, port)
            env = {**os.environ, **serving, "MLFLOW_TRACKING_URI": uri, "PYTHONUNBUFFERED": "1"}
            settings.MLFLOW_TRACKING_URI = uri
            # register_webhook signs with it
            settings.MLFLOW_WEBHOOK_SECRET = serving["MLFLOW_WEBHOOK_SECRET"]
            settings.SITE_URL = serving["SITE_URL"]
            self._prepare_data(seed=not no_seed)
            url = f"http://{host}:{port}"
            self._start_processes(env, host, port)
            self._event_receiver(env, Path(settings.VAR_DIR))
            self._wait_for(url + "/healthz", "web")
            if self.mlflow is not None:
                self._step("Registering the webhook receiver in MLflow")
                call_command("register_webhook", "--url", f"{url}/webhooks/mlflow/", stdout=self.stdout)
            self.stdout.write(
                self.style.SUCCESS(f"\nRegistry Governance is running at {url}/  (MLflow: {uri})")
            )
            self.stdout.write("Log in as one of the demo users above. Ctrl-C stops everything.\nready.")
            self._supervise()
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            self._stop_all()

    def _prepare_data(self, *, seed: bool) -> None:
        """Demo users, a first full sync of the mirror and (when seeding) the demo model cards."""
        call_command("create_demo_users", stdout=self.stdout)
        self._step("Mirroring the registry (full sync)")
        try:
            call_command("sync_registry", "--quiet-progress", stdout=self.stdout)
        except CommandError as exc:  # the pages still work from the mirror; the reconcile retries
            self.stderr.write(f"  first sync failed: {exc}")
        if seed:
            self._step("Writing the demo model cards (once)")
            call_command("seed_demo_cards", stdout=self.stdout)

    def _start_processes(self, env: dict, host: str, port: int) -> None:
        """Static files, then web (gunicorn), a Celery worker and beat."""
        base = Path(settings.BASE_DIR)
        python = sys.executable
        self._collectstatic(env, base)
        web = ["gunicorn", "registry_ui.wsgi", "-b", f"{host}:{port}", "--workers", "2", "--threads", "4"]
        self._spawn("web", [python, "-m", *web, "--access-logfile", "-"], env, base)
        self._spawn("worker", worker_command(), env, base)
        beat = ["celery", "-A", "registry_ui", "beat", "--loglevel=INFO"]
        scheduler = "django_celery_beat.schedulers:DatabaseScheduler"
        self._spawn("beat", [python, "-m", *beat, "--scheduler", scheduler], env, base)

    def _event_receiver(self, env: dict, var: Path) -> None:
        """Start the demo receiver of outbound events on a free loopback port and subscribe it to every event
        (the demo subscription of an earlier run, on another port, is deleted)."""
        secret = _local_secret(var / "event_receiver_secret", 32)
        port = RECEIVER_PORT or _free_port()
        receiver = f"http://127.0.0.1:{port}/events"
        command = [sys.executable, "manage.py", "event_receiver", "--port", str(port)]
        self._spawn(
            "event receiver", command, {**env, "EVENT_RECEIVER_SECRET": secret}, Path(settings.BASE_DIR)
        )
        for old in Subscription.objects.filter(created_by="demo", active=True).exclude(url=receiver):
            subscriptions.deactivate(actor="demo", subscription_id=old.pk)
        if not Subscription.objects.filter(url=receiver, active=True).exists():
            settings.OUTBOUND_ALLOWED_HOSTS = [*settings.OUTBOUND_ALLOWED_HOSTS, "127.0.0.1"]
            data = {"url": receiver, "events": list(EVENTS), "secret": secret, "description": "demo receiver"}
            subscriptions.create(actor="demo", data=data)
        self.stdout.write(f"  outbound events go to {receiver} (printed below as they arrive)")

    def _supervise(self) -> None:
        """Until Ctrl-C: fail as soon as one of the processes started here exits."""
        while True:
            for proc in self.children:
                if proc.poll() is not None:
                    raise CommandError(
                        f"{proc.args[2] if len(proc.args) > 2 else proc.args} exited ({proc.returncode})"
                    )
            time.sleep(1)

    def _collectstatic(self, env: dict, cwd: Path) -> None:
        collect_static_once(
            env, cwd, on_start=lambda: self._step("Collecting static files (once per change)")
        )

    def _step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"→ {text}"))

    def _mlflow(self, port: int, *, seed: bool) -> str:
        if os.environ.get("MLFLOW_TRACKING_URI"):
            uri = os.environ["MLFLOW_TRACKING_URI"]
            self._step(f"Using the existing MLflow server at {uri}")
            if not _healthy(uri):
                self.stderr.write(
                    f"  MLflow at {uri} does not answer /health; the mirror will say it is stale."
                )
            return uri
        root = Path(settings.VAR_DIR) / "mlflow"
        root.mkdir(parents=True, exist_ok=True)
        uri = f"http://127.0.0.1:{port}"
        if _healthy(uri):
            self._step(f"Reusing the MLflow server already running at {uri}")
        else:
            self._step(f"Starting a local MLflow server at {uri} (store: {root})")
            self.mlflow = MlflowServer(root, port=port).start()
        if seed:
            # Here, not at the top: demo.seed loads numpy and pandas, which only seeding needs.
            from demo.seed import seed_demo

            self._step("Seeding demo models (once)")
            seed_demo(uri)
        return uri

    def _spawn(self, name: str, command: list[str], env: dict, cwd: Path) -> None:
        self._step(f"Starting {name}")
        self.children.append(subprocess.Popen(command, env=env, cwd=cwd, start_new_session=True))

    def _wait_for(self, url: str, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise CommandError(f"{name} did not come up at {url} within {timeout:.0f} s")

    def _stop_all(self) -> None:
        for proc in self.children:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for proc in self.children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if self.mlflow is not None:
            self.mlflow.stop()
        self.stdout.write("Stopped web, worker, beat" + (" and MLflow." if self.mlflow else "."))
