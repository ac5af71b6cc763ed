"""Rollback: back to the version that held the target before, through the same policy, beats_current skipped."""

from __future__ import annotations

import pytest

from approvals import selectors
from approvals.models import Promotion
from approvals.workflow import gating, rollback
from common.errors import Conflict, InvalidInput
from mirror.models import RegisteredModel
from tests.support.governance import approve, request_and_check, run_outbox, seed_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_applied(policy_file, people, fake_mlflow):
    """v1 then v2 promoted to production (v2 better), both applied."""
    seed_model("churn", (1, 2, 3), metrics={1: 0.7, 2: 0.8, 3: 0.9})
    for v in (1, 2):
        p = request_and_check(people["requester"], version=v, target="production")
        approve(p, people["a1"])
        approve(p, people["a2"])
        assert run_outbox(p) == ["applied"]
        RegisteredModel.objects.filter(name="churn").update(aliases={"production": v})  # the mirror follows
    return fake_mlflow


def test_rollback_defaults_to_the_previous_holder_and_skips_beats_current(two_applied, people):
    r = rollback.rollback_request(
        user=people["requester"], model_name="churn", target="production", justification="v2 misbehaves"
    )
    assert (r.kind, r.version.version, r.previous_version, r.required_approvals) == ("rollback", 1, 2, 1)
    gating.run_gates(promotion_id=r.pk)
    r.refresh_from_db()
    assert r.state == "awaiting_approval"
    beats = r.gate_results.get(name="beats_current")
    assert beats.status == "skipped" and beats.detail
    approve(r, people["a3"])  # rollback_approvals: 1
    assert run_outbox(r) == ["applied"]
    assert two_applied.aliases[("churn", "production")] == 1
    model = RegisteredModel.objects.get(name="churn")
    history = selectors.history(model, "production")
    assert [h["version"] for h in history] == [1, 2, 1]
    assert history[0]["to"] is not None and history[-1]["to"] is None
    assert history[-1]["promotion_id"] == r.pk


def test_rollback_to_an_explicit_version(two_applied, people):
    r = rollback.rollback_request(
        user=people["requester"], model_name="churn", target="production", to_version=3
    )
    assert r.version.version == 3


def test_rollback_to_the_current_holder_is_409(two_applied, people):
    with pytest.raises(Conflict, match="v2 already holds production"):
        rollback.rollback_request(
            user=people["requester"], model_name="churn", target="production", to_version=2
        )
    assert not Promotion.objects.filter(kind="rollback").exists()


def test_rollback_with_no_earlier_holder_is_400(policy_file, people):
    seed_model("fresh", (1,))
    with pytest.raises(InvalidInput):
        rollback.rollback_request(user=people["requester"], model_name="fresh", target="production")


def test_rollback_api(two_applied, people):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(people["requester"])
    res = client.post(
        "/api/v1/rollbacks/", {"model": "churn", "target": "production", "justification": "x"}, format="json"
    )
    assert res.status_code == 201, res.content
    assert res.json()["kind"] == "rollback" and res.json()["version"] == 1
    res = client.post("/api/v1/rollbacks/", {"model": "churn", "target": "moon"}, format="json")
    assert res.status_code == 400
    res = client.get("/api/v1/models/churn/history?target=production")
    assert res.status_code == 200
    assert [h["version"] for h in res.json()] == [1, 2]
    assert set(res.json()[0]) >= {"version", "from", "to", "promotion_id"}
