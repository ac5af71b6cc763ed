"""Issue 13: the `registry` commands against a live server: reads, files, errors, configuration."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiToken
from tests.support import cli

pytestmark = pytest.mark.django_db(transaction=True)


def test_without_a_token_or_url_the_message_names_the_variable_to_set(served, tmp_path):
    res = cli.run(["models"], cli.cli_env(served["url"], None, tmp_path))
    assert res.returncode == 3 and "set REGISTRY_TOKEN" in res.stderr
    env = cli.cli_env(served["url"], "x", tmp_path)
    del env["REGISTRY_URL"]
    res = cli.run(["models"], env)
    assert res.returncode == 3 and "set REGISTRY_URL" in res.stderr


def test_the_config_file_under_the_users_config_directory_is_read(served, pipeline_env, tmp_path):
    env = pipeline_env()
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "config.toml").write_text(
        f'[registry]\nurl = "{env.pop("REGISTRY_URL")}"\ntoken = "{env.pop("REGISTRY_TOKEN")}"\n'
    )
    res = cli.run(["models", "--json"], env)
    assert res.returncode == 0, res.stderr
    assert [m["name"] for m in json.loads(res.stdout)] == ["churn"]


def test_an_expired_token_exits_5_with_the_apis_sentence(served, pipeline_env):
    env = pipeline_env()
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    res = cli.run(["models"], env)
    assert res.returncode == 5 and "401: This API token ('ci-release pipeline') expired at" in res.stderr


def test_errors_print_the_apis_detail(served, pipeline_env):
    env = pipeline_env()
    res = cli.run(["status", "999999"], env)
    assert res.returncode == 6 and res.stderr.startswith("registry: 404: ")
    res = cli.run(["promote", "churn", "2", "--target", "nowhere", "--justification", "x"], env)
    assert res.returncode == 1 and "nowhere" in res.stderr


def test_an_unreachable_server_is_retried_then_exits_4_with_the_cause(tmp_path):
    res = cli.run(["models"], cli.cli_env("http://127.0.0.1:9", "k", tmp_path))
    assert res.returncode == 4 and "after 2 attempts" in res.stderr and "ConnectionError" in res.stderr


def test_models_versions_and_compare_print_tables(served, pipeline_env):
    env = pipeline_env()
    models = cli.run(["models"], env)
    assert models.returncode == 0 and models.stdout.splitlines()[0].split() == [
        "model", "latest", "versions", "aliases",
    ]  # fmt: skip
    assert "production=1" in models.stdout
    versions = cli.run(["versions", "churn", "--json"], env)
    assert [v["version"] for v in json.loads(versions.stdout)] == [3, 2, 1]
    table = cli.run(["compare", "churn", "1", "2"], env)
    assert table.returncode == 0, table.stderr
    header, _, acc = table.stdout.splitlines()[:3]
    assert header.split() == ["v1", "v2"] and acc.split() == ["acc", "0.81", "0.82"]


def test_card_export_evidence_and_audit_verify_write_files_and_verdicts(served, pipeline_env, tmp_path):
    engineer, auditor = pipeline_env(), pipeline_env("auditors", "ci-audit")
    pdf = tmp_path / "card.pdf"
    res = cli.run(["card", "export", "churn", "2", "--format", "pdf", "-o", str(pdf)], engineer)
    assert res.returncode == 0, res.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    pack = tmp_path / "evidence.zip"
    res = cli.run(["evidence", "--target", "production", "-o", str(pack), "--json"], auditor)
    assert res.returncode == 0 and json.loads(res.stdout)["bytes"] == pack.stat().st_size > 0
    assert pack.read_bytes()[:2] == b"PK"
    assert cli.run(["evidence", "--target", "production", "-o", str(pack)], engineer).returncode == 5
    verify = cli.run(["audit", "verify", "--json"], engineer)
    assert verify.returncode == 0 and json.loads(verify.stdout)["ok"] is True
