"""Our app served as `make run` serves it, for benchmarks that time it over HTTP (bench/pages.py).

gunicorn (gthread: keep-alive connections) on a free loopback port, with the environment
``bench_environment(extra_env=served_like_make_run())`` yields: DEBUG off, static files from whitenoise's
compressed manifest storage (collected once, shared with `make run`), the benchmark's throwaway database.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator

from bench._support import REPO, note


@contextlib.contextmanager
def gunicorn_app(env: dict[str, str], *, workers: int = 2, threads: int = 4) -> Iterator[str]:
    """Collect static files if they changed, start gunicorn, wait for /healthz; yields the base URL."""
    import requests

    from demo.management.commands.devstack import collect_static_once
    from demo.mlflow_process import free_port

    began = time.perf_counter()
    if collect_static_once(env, REPO, on_start=lambda: note("collecting static files (about a minute)")):
        note(f"collectstatic took {time.perf_counter() - began:.1f} s")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "gunicorn", "registry_ui.wsgi", "-b", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads), "--log-level", "warning",
    ]  # fmt: skip
    web = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            if web.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("gunicorn did not answer /healthz within 60 s")
            time.sleep(0.2)
        note(f"gunicorn at {base} ({workers} workers x {threads} threads, DEBUG off)")
        yield base
    finally:
        web.terminate()
        try:
            web.wait(timeout=30)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait(timeout=10)


def session_cookie(username: str) -> str:
    """A new plain user (no role) logged in; the value of its ``sessionid`` cookie (sessions are in the
    database, so the server sees the login)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_user(username=username, password=secrets.token_urlsafe(16))
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value
