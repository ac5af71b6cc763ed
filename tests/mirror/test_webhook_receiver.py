"""POST /webhooks/mlflow/ — verification order, dedup, and what it enqueues (API.md)."""

import json
import math
import time

import pytest

from mirror.models import SyncRun, WebhookDelivery
from tests.support.webhooks import post_webhook

pytestmark = pytest.mark.django_db
SECRET = "test-secret"


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.MLFLOW_WEBHOOK_SECRET = SECRET


def deliver(client, payload, *, secret=SECRET, delivery_id=None, timestamp=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    return post_webhook(client, body, secret=secret, delivery_id=delivery_id, timestamp=timestamp)


VERSION_CREATED = {
    "entity": "model_version",
    "action": "created",
    "timestamp": "2026-11-29T00:00:00Z",
    "data": {"name": "churn", "version": "3", "source": "models:/m-1", "run_id": "r1", "tags": {}},
}


def test_valid_delivery_is_recorded_and_enqueues_a_targeted_sync(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = deliver(client, VERSION_CREATED)
    assert response.status_code == 200
    run = SyncRun.objects.get()
    assert (run.kind, run.model_name, run.version, run.status) == ("webhook", "churn", 3, "queued")
    assert WebhookDelivery.objects.get().sync_run == run
    assert len(callbacks) == 1  # the task is sent only when the transaction commits


def test_bad_signature_is_401_and_records_nothing(client):
    response = deliver(client, VERSION_CREATED, secret="wrong")
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists() and not SyncRun.objects.exists()


def test_missing_signature_headers_are_401(client):
    response = client.post("/webhooks/mlflow/", data=b"{}", content_type="application/json")
    assert response.status_code == 401
    assert "detail" in response.json()


@pytest.mark.parametrize("skew", [-301, 301, -3600])
def test_stale_or_future_timestamp_is_400(client, skew):
    # Rounded up: a whole-second timestamp truncated from now could land up to a second inside the window.
    response = deliver(client, VERSION_CREATED, timestamp=math.ceil(time.time()) + skew)
    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_signature_is_checked_before_timestamp(client):
    response = deliver(client, VERSION_CREATED, secret="wrong", timestamp=1)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", b'{"entity": "model_version"}', b'{"action": "created"}', b"\xff\xfe"]
)
def test_malformed_body_is_400_and_changes_nothing(client, raw):
    response = deliver(client, None, raw=raw)
    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists() and not SyncRun.objects.exists()


def test_registry_event_without_model_name_is_400(client):
    response = deliver(client, {"entity": "model_version", "action": "created", "data": {}})
    assert response.status_code == 400


def test_replayed_delivery_id_is_accepted_once(client):
    first = deliver(client, VERSION_CREATED, delivery_id="same-id")
    second = deliver(client, VERSION_CREATED, delivery_id="same-id")
    assert first.status_code == second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert SyncRun.objects.count() == 1 and WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("entity,action", [("prompt", "created"), ("budget_policy", "exceeded")])
def test_events_the_app_does_not_use_are_recorded_and_ignored(client, entity, action):
    response = deliver(client, {"entity": entity, "action": action, "data": {"name": "p"}})
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().outcome == "ignored"
    assert not SyncRun.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get("/webhooks/mlflow/").status_code == 405
