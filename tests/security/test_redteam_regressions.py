"""What the red-team re-check of issues 8 and 9 found broken on main, each pinned by the attack that broke it."""

from __future__ import annotations

import json
import uuid

import pytest

from mirror.models import SyncRun, WebhookDelivery
from tests.support.webhooks import post_webhook

pytestmark = pytest.mark.django_db


def _post(client, secret: str, payload: dict):
    delivery_id = str(uuid.uuid4())
    return post_webhook(
        client, json.dumps(payload).encode(), secret=secret, delivery_id=delivery_id
    ), delivery_id


@pytest.mark.parametrize(
    "version", ["9" * 40, 2**63, 2**31, -1], ids=["40-digit text", "2^63", "2^31", "negative"]
)
def test_a_signed_webhook_naming_a_version_no_column_holds_syncs_the_model(client, settings, version):
    # Issue 8 item 9: the version came from the body as int(...) and went into SyncRun.version unchecked;
    # SQLite raised OverflowError (a 500), PostgreSQL called the body one "the store cannot keep" (a 400).
    settings.MLFLOW_WEBHOOK_SECRET = "test-secret"
    payload = {"entity": "model_version", "action": "created", "data": {"name": "churn", "version": version}}
    response, delivery_id = _post(client, "test-secret", payload)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
    run = WebhookDelivery.objects.get(delivery_id=delivery_id).sync_run
    assert run.kind == SyncRun.Kind.WEBHOOK
    assert (run.model_name, run.version) == ("churn", None)  # no such version: the model is synced


NUL_URLS = [
    "/api/v1/audit/?actor=a%00b",
    "/api/v1/models/?search=a%00b",
    "/api/v1/models/?tag=a:b%00",
    "/api/v1/promotions/?model=a%00",
    "/api/v1/models/a%00b/",
    "/api/v1/models/a%00b/history?target=production",
    "/api/v1/compare/?model=a%00&versions=1,2",
    "/api/v1/drift/?model=a%00",
]
NUL_PAGES = [
    "/models/?search=a%00",
    "/models/a%00b/",
    "/promotions/?model=a%00",
    "/compare/?model=a%00&versions=1,2",
]


@pytest.mark.parametrize("url", NUL_URLS)
def test_a_nul_byte_in_an_api_url_is_a_400_with_a_detail(client, make_user, url):
    # PostgreSQL text cannot hold NUL: every filter or name that reached a query was a 500 (psycopg DataError).
    client.force_login(make_user("ops", "auditors", staff=True))
    response = client.get(url)
    assert response.status_code == 400, (url, response.status_code)
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize("url", NUL_PAGES)
def test_a_nul_byte_in_a_page_url_is_the_styled_400_page(client, make_user, url):
    client.force_login(make_user("ops", "auditors", staff=True))
    response = client.get(url)
    assert response.status_code == 400, (url, response.status_code)
    assert b"Bad request" in response.content
