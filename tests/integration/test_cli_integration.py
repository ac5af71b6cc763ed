"""Issue 13 end to end: `registry promote --wait` as a subprocess against the app served by live_server, a real
`mlflow server` (the session's) and a real Celery worker: the gates run in the worker, a person signs through the
API with their own token and password, the worker applies the promotion through the outbox and moves the alias
in MLflow, and the CLI exits 0; a blocked promotion exits 10 with the gate's reason."""

from __future__ import annotations

import uuid

import pytest
import requests

from accounts import services
from approvals.models import OutboxItem, Promotion
from audit import verification
from tests.support import cli
from tests.support.governance import PASSWORD, audit_actions
from tests.support.live import seed_small_model, sync_model, wait_for
from tests.support.tokens import issue_key

# Slow (real MLflow and a worker); the SQLite pass covers the CLI against a fake MLflow (tests/cli/).
pytestmark = [
    pytest.mark.mlflow,
    pytest.mark.celery,
    pytest.mark.postgres_pass_only,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def real_setup(
    policy_file,
    mlflow_uri,
    mlflow_client,
    governed,
    make_user,
    live_server,
    celery_worker_process,
    tmp_path,
):
    """One real model version (with the data_validated tag) in the session's MLflow, mirrored; a pipeline's
    service account's environment for the CLI; an approver who signs through the API."""
    name = f"cli-int-{uuid.uuid4().hex[:8]}"
    seed_small_model(mlflow_uri, name, accuracies=(0.9,))
    sync_model(name)
    staff = make_user("stan", staff=True)
    _, issued = services.service_account_create(
        actor=staff, data={"username": "ci-release", "role": "ml-engineers"}
    )
    return {
        "name": name,
        "url": live_server.url,
        "env": cli.cli_env(live_server.url, issued.key, tmp_path),
        "mlflow": mlflow_client,
        "signer": governed["a1"],
    }


def _promote(s, target: str) -> list[str]:
    return ["promote", s["name"], "1", "--target", target, "--justification", "pipeline run", "--wait"]


def _sign_through_the_api(s, promotion_id: int) -> None:
    """The approver's own token; the API still asks for their password (a token alone does not sign)."""
    headers = {"Authorization": f"Token {issue_key(s['signer'])}"}
    url = f"{s['url']}/api/v1/promotions/{promotion_id}/approve"
    assert requests.post(url, json={}, headers=headers, timeout=30).status_code == 403
    res = requests.post(url, json={"password": PASSWORD}, headers=headers, timeout=30)
    assert res.status_code == 200, res.text


def test_promote_wait_exits_0_once_a_signature_arrives_and_the_worker_moved_the_alias(real_setup):
    s = real_setup
    proc = cli.start([*_promote(s, "staging"), "--timeout", "120", "--interval", "0.2"], s["env"])
    try:
        p = wait_for(
            lambda: Promotion.objects.filter(model__name=s["name"], state="awaiting_approval").first(),
            60,
            "the gates, run by the worker",
        )
        _sign_through_the_api(s, p.pk)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, (out, err)
    assert "gate version_ready: passed" in out and "gate signature_present: passed" in out
    assert "approve signed by ann" in out
    assert out.strip().splitlines()[-1].endswith("applied, 1/1 signatures"), out
    assert s["mlflow"].get_registered_model(s["name"]).aliases["staging"] == "1"
    p.refresh_from_db()
    assert p.requested_by.username == "ci-release" and p.applied_at is not None
    assert OutboxItem.objects.get(promotion=p).done_at is not None
    assert audit_actions(object_id=p.pk).count("promotion.applied") == 1
    assert verification.verify().ok


def test_a_blocked_promotion_exits_10_with_the_gates_reason(real_setup):
    s = real_setup
    # The version loses the tag production's required_tags gate asks for, in MLflow, and the mirror follows.
    s["mlflow"].delete_model_version_tag(s["name"], "1", "data_validated")
    sync_model(s["name"])
    res = cli.run([*_promote(s, "production"), "--timeout", "120", "--interval", "0.2"], s["env"])
    assert res.returncode == 10, (res.stdout, res.stderr)
    assert "blocked" in res.stdout and "gate required_tags failed" in res.stdout, res.stdout
    assert "data_validated" in res.stdout
    assert "production" not in s["mlflow"].get_registered_model(s["name"]).aliases
    assert Promotion.objects.get(model__name=s["name"]).state == "blocked"
