"""The key that seals subscription secrets (OUTBOUND_SECRETS_KEY), handled as AUDIT_CHAIN_KEY is: production
refuses to start without one and never writes one; locally one is generated once into a private file."""

from __future__ import annotations

import os
import stat

import pytest

from tests.support.deploy import production_env, run

pytestmark = pytest.mark.postgres_pass_only  # subprocesses on their own SQLite files, whatever the test DB
PRINT_KEY = (
    "import django; django.setup(); from django.conf import settings; print(settings.OUTBOUND_SECRETS_KEY)"
)


def test_production_refuses_to_start_without_the_key_and_never_writes_one(tmp_path):
    refused = run(["-c", PRINT_KEY], production_env(tmp_path, OUTBOUND_SECRETS_KEY=None))
    assert refused.returncode != 0 and "OUTBOUND_SECRETS_KEY" in refused.stderr
    key = "k" * 40
    assert run(["-c", PRINT_KEY], production_env(tmp_path, OUTBOUND_SECRETS_KEY=key)).stdout.strip() == key
    assert not (tmp_path / "var" / "outbound-secrets.key").exists()


def test_the_local_default_key_is_generated_once_into_a_private_file(tmp_path):
    local = production_env(tmp_path, DEBUG="true", OUTBOUND_SECRETS_KEY=None)
    first = run(["-c", PRINT_KEY], local)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "var" / "outbound-secrets.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert len(first.stdout.strip()) >= 32 and key_file.read_text().strip() == first.stdout.strip()
    assert run(["-c", PRINT_KEY], local).stdout == first.stdout  # stable across restarts
