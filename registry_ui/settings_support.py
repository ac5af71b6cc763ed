"""Helpers of config/settings.py that are code rather than settings: refusing insecure production values, the
embedded demo's key files (audit chain, subscription secrets), and owner-only local state files. Imports nothing of Django's settings."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

INSECURE_SECRET_KEY = "insecure-local-development-key-change-me"
INSECURE_WEBHOOK_SECRET = "local-webhook-secret-change-me"


def refuse_insecure_production(
    *, secret_key: str, webhook_secret: str, audit_chain_key: str, allowed_hosts: list[str]
) -> None:
    """With DEBUG off: ImproperlyConfigured on a default, short or wildcard value."""
    if secret_key == INSECURE_SECRET_KEY or len(secret_key) < 50:
        raise ImproperlyConfigured("Set SECRET_KEY to a random value of 50+ characters when DEBUG is off.")
    if webhook_secret == INSECURE_WEBHOOK_SECRET:
        raise ImproperlyConfigured("Set MLFLOW_WEBHOOK_SECRET to a random value when DEBUG is off.")
    refuse_short_key("AUDIT_CHAIN_KEY", audit_chain_key)
    if len(webhook_secret.encode()) < 32:
        raise ImproperlyConfigured(
            "MLFLOW_WEBHOOK_SECRET must be at least 32 bytes when DEBUG is off (openssl rand -hex 32)."
        )
    if "*" in allowed_hosts:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must name the app's hosts when DEBUG is off, not '*' (Host header attacks)."
        )


def refuse_short_key(name: str, value: str) -> None:
    """With DEBUG off: a key kept outside the database (AUDIT_CHAIN_KEY, OUTBOUND_SECRETS_KEY) is 32+ characters."""
    if len(value) < 32:
        raise ImproperlyConfigured(
            f"Set {name} to a random value of 32+ characters when DEBUG is off "
            "(kept outside the database; see docs/deployment.md)."
        )


def local_audit_chain_key(path: Path) -> str:
    return local_key(path, "AUDIT_CHAIN_KEY")


def local_key(path: Path, name: str) -> str:
    """The embedded demo's key `name`: generated once (race-free: O_EXCL) into a file only this user can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process is writing it right now
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.01)
        raise ImproperlyConfigured(f"{path} is empty: delete it or set {name}.") from None
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


# The embedded database and broker hold sessions, password hashes and the audit chain: owner-only files in an
# owner-only directory, whatever the umask (SQLite gives its -wal/-shm files the database file's mode).
def owner_only_local_state(var_dir: Path, *, database: dict, broker_url: str) -> None:
    """VAR_DIR 0700; the embedded SQLite database and broker files (and their -wal/-shm/-journal) 0600."""
    _owner_only_dir(var_dir)
    if database["ENGINE"] == "django.db.backends.sqlite3" and database["NAME"] not in ("", ":memory:"):
        _owner_only_file(Path(database["NAME"]))
    if broker_url.startswith("sqla+sqlite:///"):
        _owner_only_file(Path(broker_url.removeprefix("sqla+sqlite:///")))


def _owner_only_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid == os.getuid():  # never chmod a shared directory someone pointed VAR_DIR at
        path.chmod(0o700)


def _owner_only_file(path: Path) -> None:
    if not path.parent.is_dir():
        return
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # an empty file is an empty SQLite database
    for existing in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        if existing.exists() and existing.stat().st_uid == os.getuid():
            existing.chmod(0o600)
