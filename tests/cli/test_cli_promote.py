"""Issue 13: `registry promote --wait` against a live server, through signatures given while it waits."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from approvals.models import Promotion
from approvals.workflow import signatures
from tests.support import cli
from tests.support.governance import PASSWORD
from tests.support.tokens import issue_key

pytestmark = pytest.mark.django_db(transaction=True)
PROMOTE = ["promote", "churn", "2", "--target", "production", "--justification", "AUC +0.02", "--wait"]


def _awaiting() -> bool:
    return Promotion.objects.filter(state="awaiting_approval").exists()


def test_promote_waits_through_two_signatures_and_exits_0_when_applied(served, pipeline_env):
    proc = cli.start([*PROMOTE, "--timeout", "90", "--interval", "0.2"], pipeline_env())
    cli.wait_until(_awaiting, 60, "the gates (run when the request commits)")
    p = Promotion.objects.get()
    signatures.approval_grant(promotion_id=p.pk, user=served["a1"], password=PASSWORD)
    # The second signer signs through the API with their own token, and still re-enters their password.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_key(served['a2'])}")
    assert api.post(f"/api/v1/promotions/{p.pk}/approve", {}, format="json").status_code == 403
    res = api.post(f"/api/v1/promotions/{p.pk}/approve", {"password": PASSWORD}, format="json")
    assert res.status_code == 200, res.content
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, (out, err)
    assert "awaiting_approval" in out and "approve signed by ann" in out and "approve signed by bob" in out
    assert "gate beats_current: passed" in out and out.strip().splitlines()[-1].endswith(
        "applied, 2/2 signatures"
    )
    assert served["fake"].writes == [("alias", "churn", "production", 2)]
    assert Promotion.objects.get().requested_by.username == "ci-release"


def test_a_blocked_promotion_exits_10_with_the_gates_reason(served, pipeline_env):
    args = [
        "promote",
        "churn",
        "3",
        "--target",
        "production",
        "--justification",
        "x",
        "--wait",
        "--timeout",
        "60",
    ]
    res = cli.run([*args, "--interval", "0.2"], pipeline_env())
    assert res.returncode == 10, (res.stdout, res.stderr)
    assert (
        "blocked" in res.stdout
        and "gate required_tags failed" in res.stdout
        and "data_validated" in res.stdout
    )
    status = cli.run(
        ["status", str(Promotion.objects.get().pk), "--json"], pipeline_env("ml-engineers", "ci-2")
    )
    assert status.returncode == 10 and '"state": "blocked"' in status.stdout


def test_a_timeout_exits_14_and_says_the_promotion_goes_on(served, pipeline_env):
    res = cli.run([*PROMOTE, "--timeout", "1", "--interval", "0.2"], pipeline_env())
    assert res.returncode == 14 and "Timed out after 1 s" in res.stderr and "registry status" in res.stderr
    assert Promotion.objects.get().state == "awaiting_approval"


def test_a_rejection_exits_11_with_the_signers_comment(served, pipeline_env):
    proc = cli.start([*PROMOTE, "--timeout", "60", "--interval", "0.2"], pipeline_env())
    cli.wait_until(_awaiting, 60, "the gates")
    signatures.approval_reject(
        promotion_id=Promotion.objects.get().pk, user=served["a1"], password=PASSWORD, comment="drift risk"
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 11 and "rejected by ann: drift risk" in out, (out, err)
