"""Issue 8 item 5: the audit chain key: production refuses to start without one; locally one is generated
once into a private file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

pytestmark = pytest.mark.django_db


# --- the key ------------------------------------------------------------------------------------------------------
def _settings_subprocess(tmp_path, **env_overrides) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DEBUG", "AUDIT_CHAIN_KEY", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        SECRET_KEY="s" * 64,
        OUTBOUND_SECRETS_KEY="o" * 40,
        MLFLOW_WEBHOOK_SECRET="w" * 40,
        ALLOWED_HOSTS="example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_SETTINGS_MODULE="registry_ui.settings",
        **env_overrides,
    )
    code = "import django; django.setup(); from django.conf import settings; print(settings.AUDIT_CHAIN_KEY)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.postgres_pass_only  # settings in a subprocess on its own SQLite file: the test database plays no part
def test_production_refuses_to_start_without_an_audit_key(tmp_path):
    refused = _settings_subprocess(tmp_path, DEBUG="false")
    assert refused.returncode != 0 and "AUDIT_CHAIN_KEY" in refused.stderr
    short = _settings_subprocess(tmp_path, DEBUG="false", AUDIT_CHAIN_KEY="too-short")
    assert short.returncode != 0 and "AUDIT_CHAIN_KEY" in short.stderr
    key = "k" * 40
    assert _settings_subprocess(tmp_path, DEBUG="false", AUDIT_CHAIN_KEY=key).stdout.strip() == key
    assert not (tmp_path / "var" / "audit-chain.key").exists()  # production never writes a key file


@pytest.mark.postgres_pass_only  # settings in a subprocess on its own SQLite file: the test database plays no part
def test_the_local_default_key_is_generated_once_into_a_private_file(tmp_path):
    first = _settings_subprocess(tmp_path, DEBUG="true")
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "var" / "audit-chain.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert len(first.stdout.strip()) >= 32 and key_file.read_text().strip() == first.stdout.strip()
    assert _settings_subprocess(tmp_path, DEBUG="true").stdout == first.stdout  # stable across restarts


# --- item 13: who holds a role --------------------------------------------------------------------------------------
