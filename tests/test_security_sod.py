"""Trust holes: segregation of duties on identities MLflow fixed at creation (not on re-taggable tags), a
webhook delivery marked seen only once stored, private embedded state files, and a card export that loads
nothing from outside when opened from disk."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.db import connection

from registry_ui.models import SyncRun, WebhookDelivery
from registry_ui.webhooks import sign

WEBHOOK_SECRET = "sod-test-secret"


# --- webhook: a delivery is seen only when it was stored ------------------------------------------------
def _deliver(client, body: bytes, *, delivery_id: str):
    timestamp = str(int(time.time()))
    return client.post(
        "/webhooks/mlflow/",
        data=body,
        content_type="application/json",
        HTTP_X_MLFLOW_DELIVERY_ID=delivery_id,
        HTTP_X_MLFLOW_TIMESTAMP=timestamp,
        HTTP_X_MLFLOW_SIGNATURE=sign(WEBHOOK_SECRET, delivery_id, timestamp, body),
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "unstorable",
    [b'{"score": NaN}', b'{"score": Infinity}', b'{"score": -Infinity}', b'{"note": "a\\u0000b"}'],
    ids=["nan", "inf", "-inf", "nul"],
)
def test_webhook_body_with_nan_is_not_marked_seen_and_its_retry_is_processed(client, settings, unstorable):
    settings.MLFLOW_WEBHOOK_SECRET = WEBHOOK_SECRET
    if b"u0000" in unstorable and connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL's jsonb refuses \\u0000; SQLite stores it (then the id is seen)")
    delivery_id = str(uuid.uuid4())
    bad = (
        b'{"entity": "model_version", "action": "created", "data": {"name": "churn", "version": "3",'
        b' "tags": ' + unstorable + b"}}"
    )
    first = _deliver(client, bad, delivery_id=delivery_id)
    assert first.status_code == 400, first.content
    assert first.json().get("status") != "duplicate"
    assert not WebhookDelivery.objects.filter(delivery_id=delivery_id).exists()
    assert not SyncRun.objects.exists()

    good = json.dumps(
        {"entity": "model_version", "action": "created", "data": {"name": "churn", "version": "3"}}
    ).encode()
    retry = _deliver(client, good, delivery_id=delivery_id)
    assert retry.status_code == 200, retry.content
    assert retry.json() == {"status": "accepted", "delivery_id": delivery_id}
    delivery = WebhookDelivery.objects.get(delivery_id=delivery_id)
    assert delivery.sync_run is not None and delivery.sync_run.model_name == "churn"
