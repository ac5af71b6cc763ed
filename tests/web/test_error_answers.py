"""Error answers: JSON `{"detail": ...}` under /api/, the styled pages elsewhere; a no-op rollback is a 409."""

from __future__ import annotations

import json

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client, RequestFactory

from approvals.models import Promotion
from mirror.models import RegisteredModel
from tests.support.governance import approve, request_and_check, run_outbox, seed_model

pytestmark = pytest.mark.django_db


def _json_detail(res, status):
    assert res.status_code == status, res.content[:300]
    assert res["Content-Type"].startswith("application/json"), res["Content-Type"]
    body = res.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# --- 1. API errors are JSON ---------------------------------------------------------------------------
def test_oversize_api_body_is_a_json_400(client, make_user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.force_login(make_user("eng", "ml-engineers"))  # who may request: the body is read (a reader: 403)
    big = "<script>alert(1)</script>" + "x" * 2000
    for content_type, body in (
        ("application/json", json.dumps({"model": big, "version": 1, "target": "production"})),
        ("application/x-www-form-urlencoded", f"model={big}&version=1&target=production"),
    ):
        res = client.post("/api/v1/promotions/", body, content_type=content_type)
        assert res.status_code == 400, (content_type, res.status_code, res.content[:300])
        assert res["Content-Type"].startswith("application/json"), (content_type, res["Content-Type"])
        assert "<script>" not in res.content.decode()
        assert "too large" in res.json()["detail"]


def test_unknown_api_path_is_a_json_404(client, user):
    for c in (Client(), client):
        res = c.get("/api/v1/no-such-thing/<b>x</b>/")
        body = _json_detail(res, 404)
        assert "<b>" not in json.dumps(body)
    client.force_login(user)
    _json_detail(client.get("/api/v1/no-such-thing/"), 404)


def test_unknown_page_path_is_still_the_styled_404(client):
    res = client.get("/no-such-page/")
    assert res.status_code == 404 and res["Content-Type"].startswith("text/html")
    assert "error-page" in res.content.decode()


def test_csrf_failure_on_api_with_session_auth_is_a_json_403(user):
    c = Client(enforce_csrf_checks=True)
    c.force_login(user)
    res = c.post(
        "/api/v1/promotions/", {"model": "x", "version": 1, "target": "y"}, content_type="application/json"
    )
    assert "CSRF" in _json_detail(res, 403)["detail"]


def test_api_server_error_and_permission_denied_are_json():
    from django.core.exceptions import PermissionDenied
    from django.urls import get_resolver

    handler = get_resolver().resolve_error_handler
    request = RequestFactory().get("/api/v1/models/")
    res = handler(500)(request)
    assert res.status_code == 500 and json.loads(res.content)["detail"]
    res = handler(403)(request, PermissionDenied("<i>nope</i>"))
    assert res.status_code == 403 and json.loads(res.content)["detail"]
    assert "<i>" not in res.content.decode()
    page = RequestFactory().get("/models/")
    assert handler(500)(page)["Content-Type"].startswith("text/html")


def test_nul_byte_in_api_url_is_still_a_json_400(client):
    _json_detail(client.get("/api/v1/models/?q=%00"), 400)


# --- 2. A CSRF failure on a page form is the styled 403 -----------------------------------------------
def test_csrf_failure_on_a_page_form_is_the_styled_403_with_a_reason(user):
    c = Client(enforce_csrf_checks=True)
    res = c.post("/accounts/login/", {"username": "u", "password": "p"})
    assert res.status_code == 403
    html = res.content.decode()
    assert "error-page" in html and "/static/css/" in html
    assert "Your form expired or was sent from another site; reload the page and try again." in html


# --- 3. A no-op rollback is a 409 naming the holder ---------------------------------------------------
@pytest.fixture
def two_applied(policy_file, people, fake_mlflow):
    seed_model("churn", (1, 2, 3), metrics={1: 0.7, 2: 0.8, 3: 0.9})
    promotions = []
    for v in (1, 2):
        p = request_and_check(people["requester"], version=v, target="production")
        approve(p, people["a1"])
        approve(p, people["a2"])
        assert run_outbox(p) == ["applied"]
        RegisteredModel.objects.filter(name="churn").update(aliases={"production": v})
        promotions.append(p)
    return promotions


def test_rollback_to_the_current_holder_is_a_409_naming_the_holder(two_applied, people):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(people["requester"])
    res = client.post(
        "/api/v1/rollbacks/",
        {"model": "churn", "target": "production", "to_version": 2, "justification": "x"},
        format="json",
    )
    body = _json_detail(res, 409)
    holder = two_applied[1]
    assert body["detail"].startswith(f"v2 already holds production (promotion #{holder.pk} since ")
    assert "rolling back to it would change nothing" in body["detail"]
    assert (body["holder_version"], body["promotion_id"]) == (2, holder.pk)
    assert body["source"] and body["held_since"]
    assert not Promotion.objects.filter(kind="rollback").exists()


def test_rollback_page_to_the_current_holder_is_a_409_naming_the_holder(two_applied, people, client):
    client.force_login(people["requester"])
    res = client.post(
        "/models/churn/rollback/", {"target": "production", "to_version": "2", "justification": "x"}
    )
    assert res.status_code == 409
    assert f"v2 already holds production (promotion #{two_applied[1].pk} since " in res.content.decode()
    assert not Promotion.objects.filter(kind="rollback").exists()


# --- a database connection lost under a view ---------------------------------------------------------
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_database_connection_lost_under_a_view_is_a_clean_503(error):
    """Found by the fault suite: a connection terminated mid-write was a 500 (the real cut is tested in
    tests/faults/test_database_faults.py)."""
    from common.middleware import DatabaseUnavailableMiddleware

    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    factory = RequestFactory()
    cut = error("terminating connection due to administrator command")
    api = middleware.process_exception(factory.post("/api/v1/promotions/"), cut)
    assert api.status_code == 503 and api["Content-Type"].startswith("application/json")
    body = json.loads(api.content)
    assert "nothing was saved" in body["detail"] and "administrator" not in body["detail"]
    assert api["Retry-After"] == "5"
    page = middleware.process_exception(factory.post("/models/churn/versions/2/card/edit/"), cut)
    assert page.status_code == 503 and page["Content-Type"].startswith("text/html")
    assert "Temporarily unavailable" in page.content.decode() and page["Retry-After"] == "5"
    assert middleware.process_exception(factory.get("/"), ValueError("not ours")) is None
