"""Smoke test of README command 1 (`make run` → `manage.py devstack`) with the installed environment:
embedded defaults (SQLite, SQLite broker, a local MLflow seeded once), web, worker and beat, Ctrl-C."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from demo.mlflow_process import free_port

REPO = Path(__file__).resolve().parents[2]
# Its own SQLite stack, whatever the test DB.
pytestmark = [pytest.mark.mlflow, pytest.mark.postgres_pass_only]
DEMO_MODELS = ["credit-default-classifier", "diabetes-progression-regressor", "wine-cultivar-classifier"]


class Stack:
    def __init__(self, var_dir: Path):
        self.port, self.mlflow_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "MLFLOW_TRACKING_URI", "CELERY_DEFAULT_QUEUE")
        }
        self.env.update(VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1")
        self.output: list[str] = []

    def start(self, timeout=420):
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=REPO,
            env=self.env,
            check=True,
            capture_output=True,
        )
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "devstack",
                "--port",
                str(self.port),
                "--mlflow-port",
                str(self.mlflow_port),
            ],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(
            target=lambda: [self.output.append(line) for line in self.proc.stdout], daemon=True
        ).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line.strip() == "ready." for line in self.output):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        self.stop()
        raise AssertionError("devstack did not become ready:\n" + "".join(self.output[-80:]))

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground process group
            self.proc.wait(timeout=60)

    def text(self):
        return "".join(self.output)


def login(url, username, password="demo-pass-2026") -> requests.Session:
    session = requests.Session()
    page = session.get(f"{url}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/accounts/login/"},
        timeout=10,
    )
    assert response.status_code == 200 and "/accounts/login/" not in response.url, "login failed"
    return session


def port_closed(port) -> bool:
    try:
        requests.get(f"http://127.0.0.1:{port}/", timeout=1)
        return False
    except requests.RequestException:
        return True


DEBUG_PAGE_MARKERS = (
    "Traceback",
    "DisallowedHost",
    "RequestDataTooBig",
    "Using the URLconf",
    "SECRET_KEY",
    "CELERY_BROKER_URL",
    "settings.py",
    "DEBUG = True",
)


def assert_styled_error(response, status, title):
    assert response.status_code == status, response.text[:500]
    assert response.headers["Content-Type"].startswith("text/html")
    assert f'<span class="error-code">{status}</span>' in response.text and title in response.text
    for marker in DEBUG_PAGE_MARKERS:
        assert marker not in response.text, f"{status} page shows {marker!r}: a debug page"


def assert_served_like_production(stack, page, var_dir):
    """DEBUG off: anonymous mistakes get the styled pages, static files are hashed, compressed, cached."""
    url = stack.url
    assert_styled_error(requests.get(f"{url}/no-such-page/", timeout=10), 404, "Page not found")
    assert_styled_error(
        requests.get(f"{url}/", headers={"Host": "evil.example"}, timeout=10), 400, "Bad request"
    )
    big = requests.post(
        f"{url}/webhooks/mlflow/",
        data=b"x" * (2_621_440 + 1024),  # past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB)
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    # The webhook receiver is a machine endpoint: its errors are JSON like the API's, never a debug page.
    assert big.status_code == 400, big.text[:500]
    assert big.headers["Content-Type"].startswith("application/json")
    assert "too large" in big.json()["detail"]
    for marker in DEBUG_PAGE_MARKERS:
        assert marker not in big.text, f"oversized webhook body answered with {marker!r}: a debug page"

    css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
    assert css, "stylesheet not served under a hashed name"
    response = requests.get(url + css.group(1), headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    assert int(re.search(r"max-age=(\d+)", response.headers["Cache-Control"]).group(1)) >= 365 * 24 * 3600

    for name in ("secret_key", "webhook_secret"):  # generated once, readable by the owner only
        assert (var_dir / name).stat().st_mode & 0o777 == 0o600, name


def test_run_command_brings_up_mlflow_web_and_worker_seeds_once_and_stops_on_ctrl_c(tmp_path):
    stack = Stack(tmp_path).start()
    try:
        out = stack.text()
        for username in ("admin", "alice", "rita", "ann", "audrey"):
            assert username in out, f"credentials of {username} not printed"
        assert stack.url in out

        session = login(stack.url, "alice")
        models_page = session.get(f"{stack.url}/models/", timeout=10).text
        for name in DEMO_MODELS:
            assert name in models_page
        assert_served_like_production(stack, models_page, tmp_path)

        # The worker consumes from the embedded (SQLite) broker: a full sync queued by staff completes.
        admin = login(stack.url, "admin")
        csrf = admin.cookies.get("csrftoken")
        queued = admin.post(
            f"{stack.url}/api/v1/sync/", headers={"X-CSRFToken": csrf, "Referer": stack.url}, timeout=10
        )
        assert queued.status_code == 202, queued.text
        run_id = queued.json()["id"]
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline:
            status = admin.get(f"{stack.url}/api/v1/sync/runs/{run_id}/", timeout=10).json()["status"]
            if status in ("succeeded", "failed"):
                break
            time.sleep(0.5)
        assert status == "succeeded"
    finally:
        stack.stop()
    assert stack.proc.returncode is not None
    assert port_closed(stack.port) and port_closed(stack.mlflow_port), "Ctrl-C left a server running"

    second = Stack(tmp_path)
    second.port, second.mlflow_port = stack.port, stack.mlflow_port
    second.url = stack.url
    second.start()
    try:
        assert "nothing to do" in second.text() or "already" in second.text(), "the demo was seeded twice"
        page = login(second.url, "ann").get(f"{second.url}/models/", timeout=10).text
        assert all(name in page for name in DEMO_MODELS)
    finally:
        second.stop()
