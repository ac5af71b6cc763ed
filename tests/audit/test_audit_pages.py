"""The audit pages: events listed and filtered, the verify button, a broken chain shown, the policy page; all need
a login."""

from __future__ import annotations

import pytest

from audit.services import record
from tests.support.audit import append, tamper

pytestmark = pytest.mark.django_db

needs_postgres = pytest.mark.postgres_only  # skipped on other databases (tests/conftest.py)


# --- pages ------------------------------------------------------------------------------------------
def test_audit_page_lists_and_filters_events(client, user):
    record(actor="alice", action="promotion.requested", object_type="promotion", object_id="1")
    record(actor="bob", action="promotion.approved", object_type="promotion", object_id="1")
    client.force_login(user)
    page = client.get("/audit/").content.decode()
    assert "promotion.requested" in page and "promotion.approved" in page
    filtered = client.get("/audit/?actor=bob").content.decode()
    assert "promotion.approved" in filtered and "promotion.requested" not in filtered.split("<table")[1]
    assert client.get("/audit/?since=garbage").status_code == 400
    assert "Export" not in page  # readers do not export


def test_audit_verify_button_returns_the_status_partial(client, user):
    append(2)
    client.force_login(user)
    response = client.get("/audit/verify/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "verified" in response.content.decode()
    assert "<html" not in response.content.decode()
    assert "verified" in client.get("/audit/verify/").content.decode()


@needs_postgres
def test_audit_verify_page_shows_a_broken_chain(client, user):
    append(3)
    tamper("UPDATE audit_auditevent SET actor = 'x' WHERE seq = 2")
    client.force_login(user)
    body = client.get("/audit/verify/", HTTP_HX_REQUEST="true").content.decode()
    assert "broken" in body and "#2" in body


def test_audit_pages_need_a_login(client):
    assert client.get("/audit/").status_code == 302
    assert client.get("/policy/").status_code == 302


def test_policy_page_shows_the_source_and_the_effective_targets(client, user, settings, tmp_path):
    from approvals import policy

    path = tmp_path / "policies.yaml"
    path.write_text(
        "targets:\n  production:\n    mlflow: {alias: production}\n    approvals: 2\n    approver_groups: [approvers]\n"
        "    gates: [version_ready, beats_current]\n"
        "overrides:\n  - models: 'credit-*'\n    targets:\n      production: {approvals: 3}\n"
    )
    settings.POLICY_PATH = path
    policy.clear_cache()
    client.force_login(user)
    try:
        page = client.get("/policy/").content.decode()
        assert "beats_current" in page and "credit-*" in page and "approver_groups" in page  # table + YAML
        per_model = client.get("/policy/", {"model": "credit-x"}).content.decode()
        assert '<td class="right">3</td>' in per_model
        assert "line 8" in per_model
    finally:
        policy.clear_cache()
