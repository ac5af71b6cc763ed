"""The REST contract of targets, promotions, approvals and history (API.md): shapes, statuses, no 5xx."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from approvals.models import Approval, Promotion
from approvals.workflow import gating
from tests.support.governance import PASSWORD, run_outbox

pytestmark = pytest.mark.django_db

PROMOTION_KEYS = {
    "id",
    "kind",
    "model",
    "version",
    "target",
    "state",
    "justification",
    "requested_by",
    "requested_at",
    "previous_version",
    "required_approvals",
    "approver_groups",
    "gates",
    "approvals",
    "applied_at",
    "error",
}


def client_for(user):
    c = APIClient()
    c.force_authenticate(user)
    return c


def _create(user, version=2, target="production"):
    res = client_for(user).post(
        "/api/v1/promotions/",
        {"model": "churn", "version": version, "target": target, "justification": "why"},
        format="json",
    )
    assert res.status_code == 201, res.content
    gating.run_gates(promotion_id=res.json()["id"])
    return res.json()


def test_anonymous_gets_401():
    for url in ("/api/v1/targets/", "/api/v1/promotions/", "/api/v1/drift/"):
        res = APIClient().get(url)
        assert res.status_code == 401, url


def test_targets_list_the_policy(churn, api):
    body = api.get("/api/v1/targets/").json()
    by_name = {t["name"]: t for t in body}
    assert by_name["production"]["mlflow"] == {"alias": "production"}
    assert by_name["production"]["approvals_required"] == 2
    assert by_name["production"]["approver_groups"] == ["approvers"]
    assert by_name["legacy"]["mlflow"] == {"stage": "Production"}
    assert [g["type"] for g in by_name["staging"]["gates"]] == ["version_ready", "signature_present"]


def test_create_returns_the_promotion_shape(churn, people):
    body = _create(people["requester"])
    assert PROMOTION_KEYS <= set(body)
    assert (body["model"], body["version"], body["target"], body["state"]) == (
        "churn",
        2,
        "production",
        "checking",
    )
    assert body["requested_by"] == "rita" and body["previous_version"] == 1
    assert body["gates"][0] == {
        "name": "version_ready",
        "status": "pending",
        "observed": None,
        "expected": None,
        "detail": "",
        "evaluated_at": None,
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"model": "nope", "version": 1, "target": "staging"},
        {"model": "churn", "version": 99, "target": "staging"},
        {"model": "churn", "version": 1, "target": "moon"},
        {"model": "churn", "version": "abc", "target": "staging"},
        {},
    ],
)
def test_bad_requests_are_400(churn, people, payload):
    res = client_for(people["requester"]).post("/api/v1/promotions/", payload, format="json")
    assert res.status_code == 400
    assert "detail" in res.json() or res.json()
    assert Promotion.objects.count() == 0


def test_duplicate_is_409(churn, people):
    _create(people["requester"])
    res = client_for(people["requester"]).post(
        "/api/v1/promotions/", {"model": "churn", "version": 2, "target": "production"}, format="json"
    )
    assert res.status_code == 409 and res.json()["detail"]


def test_approve_flow_statuses(churn, people, fake_mlflow):
    p = _create(people["requester"])
    url = f"/api/v1/promotions/{p['id']}/approve"
    assert client_for(people["a1"]).post(url, {"password": "wrong"}, format="json").status_code == 403
    assert client_for(people["requester"]).post(url, {"password": PASSWORD}, format="json").status_code == 403
    assert client_for(people["reviewer"]).post(url, {"password": PASSWORD}, format="json").status_code == 403
    assert Approval.objects.count() == 0
    res = client_for(people["a1"]).post(
        url, {"password": PASSWORD, "meaning": "review", "comment": "ok"}, format="json"
    )
    assert res.status_code == 200, res.content
    sig = res.json()["approvals"][0]
    assert {"reviewer", "decision", "meaning", "comment", "signed_at"} <= set(sig)
    assert (sig["reviewer"], sig["decision"], sig["meaning"]) == ("ann", "approve", "review")
    assert client_for(people["a1"]).post(url, {"password": PASSWORD}, format="json").status_code == 409
    res = client_for(people["a2"]).post(url, {"password": PASSWORD}, format="json")
    assert res.json()["state"] == "approved"
    assert client_for(people["a3"]).post(url, {"password": PASSWORD}, format="json").status_code == 409
    run_outbox()
    res = client_for(people["a3"]).get(f"/api/v1/promotions/{p['id']}/")
    assert res.json()["state"] == "applied" and res.json()["applied_at"]
    res = client_for(people["a3"]).post(f"/api/v1/promotions/{p['id']}/cancel", {}, format="json")
    assert res.status_code == 403
    res = client_for(people["requester"]).post(f"/api/v1/promotions/{p['id']}/cancel", {}, format="json")
    assert res.status_code == 409


def test_invalid_meaning_is_400(churn, people):
    p = _create(people["requester"])
    res = client_for(people["a1"]).post(
        f"/api/v1/promotions/{p['id']}/approve", {"password": PASSWORD, "meaning": "whim"}, format="json"
    )
    assert res.status_code == 400


def test_reject_cancel_recheck(churn, people):
    p = _create(people["requester"])
    res = client_for(people["a1"]).post(
        f"/api/v1/promotions/{p['id']}/reject", {"password": PASSWORD, "comment": "no"}, format="json"
    )
    assert res.status_code == 200 and res.json()["state"] == "rejected"
    q = _create(people["requester"], version=3, target="staging")
    assert client_for(people["requester"]).post(f"/api/v1/promotions/{q['id']}/recheck").status_code == 202
    res = client_for(people["requester"]).post(f"/api/v1/promotions/{q['id']}/cancel", {}, format="json")
    assert res.status_code == 200 and res.json()["state"] == "cancelled"
    assert client_for(people["requester"]).post(f"/api/v1/promotions/{q['id']}/recheck").status_code == 409


def test_unknown_promotion_is_404(churn, api):
    assert api.get("/api/v1/promotions/999999/").status_code == 404
    assert api.post("/api/v1/promotions/999999/approve", {"password": "x"}, format="json").status_code == 404


def test_list_is_paginated_and_filters(churn, people):
    a = _create(people["requester"], version=2, target="production")
    b = _create(people["requester"], version=3, target="staging")
    c = client_for(people["reviewer"])
    body = c.get("/api/v1/promotions/").json()
    assert set(body) >= {"count", "next", "previous", "results"} and body["count"] == 2
    assert [r["id"] for r in body["results"]] == [b["id"], a["id"]]
    assert [r["id"] for r in c.get("/api/v1/promotions/?target=staging").json()["results"]] == [b["id"]]
    assert c.get("/api/v1/promotions/?state=applied").json()["count"] == 0
    assert c.get("/api/v1/promotions/?state=bogus").status_code == 400
    assert [r["id"] for r in c.get("/api/v1/promotions/?awaiting_me=true").json()["results"]] == [b["id"]]
    mine = client_for(people["requester"]).get("/api/v1/promotions/?awaiting_me=true").json()
    assert mine["count"] == 0
    assert c.get("/api/v1/promotions/?page=99").status_code == 404
    assert c.get("/api/v1/promotions/?page=abc").status_code in (400, 404)


def test_history_of_unknown_model_is_404_and_unknown_target_400(churn, api):
    assert api.get("/api/v1/models/nope/history?target=production").status_code == 404
    assert api.get("/api/v1/models/churn/history?target=moon").status_code == 400
    assert api.get("/api/v1/models/churn/history").json() == []


def test_schema_describes_the_endpoints(client):
    res = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert res.status_code == 200
    text = res.content.decode()
    for path in (
        "/api/v1/targets/",
        "/api/v1/promotions/{id}/approve",
        "/api/v1/rollbacks/",
        "/api/v1/drift/",
        "/api/v1/models/{name}/history",
    ):
        assert path in text, path
