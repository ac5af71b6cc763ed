"""A production environment for a subprocess (`manage.py check --deploy`, collectstatic, ...): settings are read
once per process, so production configurations are checked in one."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Variables that would leak the caller's configuration into the subprocess.
_CLEARED = (
    "DEBUG",
    "SECRET_KEY",
    "MLFLOW_WEBHOOK_SECRET",
    "AUDIT_CHAIN_KEY",
    "OUTBOUND_SECRETS_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # browser test modules set it for Playwright; production never does
)


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        MLFLOW_WEBHOOK_SECRET=secrets.token_urlsafe(32),
        AUDIT_CHAIN_KEY=secrets.token_urlsafe(32),
        OUTBOUND_SECRETS_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS="example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_SETTINGS_MODULE="registry_ui.settings",
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
