"""Sending outbound events to a real receiver on 127.0.0.1: the outbox row written with its audit event, the
signature checked by the very verifier of the MLflow webhook receiver, retries with backoff, failure, replay."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEvent
from common import webhook_signing
from events import outbox, sending
from events.models import Delivery

pytestmark = pytest.mark.django_db
SECRET = "receiver-shared-secret-0123456789"


def _applied(kind: str = "promote", promotion_id: int = 7) -> AuditEvent:
    data = {"model": "churn", "version": 3, "target": "production", "kind": kind, "state": "applied"}
    return audit.record(
        actor="system",
        action="promotion.applied",
        object_type="promotion",
        object_id=str(promotion_id),
        data=data,
    )


def _later(hours: int = 1):
    return timezone.now() + timedelta(hours=hours)


def test_an_event_is_delivered_signed_in_mlflows_scheme_and_verified_by_the_inbound_verifier(
    receiver, subscribe, settings
):
    sub = subscribe(receiver.url(), events=["promotion.applied"], secret=SECRET)
    event = _applied()
    d = Delivery.objects.get()
    assert (d.subscription_id, d.event, d.audit_seq, d.status) == (
        sub["id"],
        "promotion.applied",
        event.seq,
        "pending",
    )
    assert sending.deliver(delivery_pk=d.pk) == ("succeeded", None)

    (got,) = receiver.requests
    verified = webhook_signing.verify(  # the function mirror.webhooks verifies MLflow's deliveries with
        webhook_signing.REGISTRY, got.headers, got.body, secret=SECRET, max_skew_seconds=300
    )
    assert verified.delivery_id == d.delivery_id
    with pytest.raises(webhook_signing.SignatureError):
        webhook_signing.verify(
            webhook_signing.REGISTRY, got.headers, got.body + b" ", secret=SECRET, max_skew_seconds=300
        )
    payload = json.loads(got.body)
    assert payload["event"] == "promotion.applied" and payload["audit_seq"] == event.seq
    assert (
        payload["data"]["target"] == "production" and payload["link"] == f"{settings.SITE_URL}/promotions/7/"
    )
    d.refresh_from_db()
    assert (d.status, d.attempts, d.last_status_code, d.response_excerpt) == (
        "succeeded",
        1,
        200,
        '{"ok": true}',
    )
    assert AuditEvent.objects.filter(action="delivery.succeeded", object_id=d.delivery_id).exists()


def test_a_delivery_is_retried_with_backoff_after_the_receiver_fails_twice(receiver, subscribe, settings):
    settings.OUTBOUND_MAX_ATTEMPTS = 5
    subscribe(receiver.url())
    receiver.statuses = [500, 503]
    _applied()
    d = Delivery.objects.get()
    outcome, retry_in = sending.deliver(delivery_pk=d.pk)
    assert (outcome, retry_in) == ("retry", 1.0)
    assert sending.deliver(delivery_pk=d.pk) == ("skipped", None)  # backing off
    assert sending.deliver(delivery_pk=d.pk, now=_later()) == ("retry", 2.0)  # exponential
    assert sending.deliver(delivery_pk=d.pk, now=_later(2)) == ("succeeded", None)
    d.refresh_from_db()
    assert d.status == "succeeded" and d.attempts == 3
    assert [a.status_code for a in d.attempt_log.all()] == [500, 503, 200]
    assert AuditEvent.objects.filter(action="delivery.retrying", object_id=d.delivery_id).count() == 2
    assert (
        len({r.headers["X-Registry-Delivery-Id"] for r in receiver.requests}) == 1
    )  # one delivery, three tries


def test_a_delivery_failed_after_its_attempts_is_replayed_by_hand(receiver, subscribe, staff_api, settings):
    settings.OUTBOUND_MAX_ATTEMPTS = 2
    subscribe(receiver.url())
    receiver.statuses = [500, 502]
    _applied()
    d = Delivery.objects.get()
    assert sending.deliver(delivery_pk=d.pk)[0] == "retry"
    assert sending.deliver(delivery_pk=d.pk, now=_later()) == ("failed", None)
    d.refresh_from_db()
    assert (d.status, d.last_status_code) == ("failed", 502) and "answered 502" in d.last_error
    assert AuditEvent.objects.filter(action="delivery.failed", object_id=d.delivery_id).exists()

    replayed = staff_api.post(f"/api/v1/deliveries/{d.pk}/replay")
    assert replayed.status_code == 202
    copy = Delivery.objects.get(pk=replayed.json()["id"])
    assert copy.replay_of_id == d.pk and copy.delivery_id != d.delivery_id and copy.payload == d.payload
    assert sending.deliver(delivery_pk=copy.pk) == ("succeeded", None)
    assert receiver.requests[-1].headers["X-Registry-Delivery-Id"] == copy.delivery_id
    event = AuditEvent.objects.get(action="delivery.replayed")
    assert (event.actor, event.data["replay_of"]) == ("staffer", d.delivery_id)
    assert staff_api.post(f"/api/v1/deliveries/{copy.pk}/replay").status_code == 409  # it succeeded
    log = staff_api.get(f"/api/v1/deliveries/?status=failed&subscription={d.subscription_id}").json()
    assert [row["delivery_id"] for row in log["results"]] == [d.delivery_id]
    detail = staff_api.get(f"/api/v1/deliveries/{d.pk}").json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 502]


def test_a_slack_subscription_receives_a_chat_message(receiver, subscribe):
    subscribe(receiver.url(), events=["rollback.applied"], fmt="slack", secret=SECRET)
    _applied(kind="rollback")  # a promotion applied whose kind is a rollback goes out as rollback.applied
    d = Delivery.objects.get()
    assert d.event == "rollback.applied"
    sending.deliver(delivery_pk=d.pk)
    (got,) = receiver.requests
    message = json.loads(got.body)
    assert set(message) == {"text", "blocks"}
    assert message["text"].startswith(":rocket: rollback.applied: churn v3 → production (promotion #7)")
    assert "<http://" in message["text"] and "|Open>" in message["text"]
    assert message["blocks"][0] == {"type": "section", "text": {"type": "mrkdwn", "text": message["text"]}}
    webhook_signing.verify(
        webhook_signing.REGISTRY, got.headers, got.body, secret=SECRET, max_skew_seconds=300
    )


def test_only_subscribed_events_of_active_subscriptions_make_deliveries(receiver, subscribe, staff_api):
    drift = subscribe(receiver.url(), events=["drift.detected"])
    applied = subscribe(receiver.url(), events=["promotion.applied"])
    gone = subscribe(receiver.url(), events=["promotion.applied"])
    staff_api.delete(f"/api/v1/subscriptions/{gone['id']}")
    _applied()
    audit.record(
        actor="system", action="promotion.signed", object_type="promotion", object_id="7"
    )  # not sent
    assert list(Delivery.objects.values_list("subscription_id", flat=True)) == [applied["id"]]
    assert drift["id"] != applied["id"]


def test_an_event_rolled_back_with_its_transaction_sends_nothing(receiver, subscribe):
    subscribe(receiver.url())
    with pytest.raises(RuntimeError), transaction.atomic():
        _applied()
        raise RuntimeError("the state change failed")
    assert not Delivery.objects.exists()


def test_a_delivery_is_queued_after_commit_and_the_sweep_queues_due_ones(
    receiver, subscribe, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(outbox, "enqueue", lambda ids: queued.extend(ids))
    subscribe(receiver.url())
    with django_capture_on_commit_callbacks(execute=True):
        _applied()
    d = Delivery.objects.get()
    assert queued == [d.pk]
    assert outbox.sweep() == [d.pk]  # due now (a lost message)
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=_later())
    assert outbox.sweep() == []


@pytest.mark.parametrize(
    ("action", "object_type", "data", "event", "link_end"),
    [
        ("package.succeeded", "package", {"model": "churn", "version": 3, "format": "onnx"}, "package.succeeded",
         "/models/churn/versions/3/"),
        ("package.failed", "package", {"model": "churn", "version": 3, "error": "boom"}, "package.failed",
         "/models/churn/versions/3/"),
        ("promotion.apply_failed", "promotion", {"model": "churn", "version": 3}, "promotion.failed", "/promotions/9/"),
        ("drift.detected", "drift", {"model": "churn", "target": "production"}, "drift.detected", "/drift/"),
    ],
)  # fmt: skip
def test_audit_actions_map_to_outbound_events(
    receiver, subscribe, action, object_type, data, event, link_end
):
    subscribe(receiver.url(), events=[event])
    audit.record(actor="system", action=action, object_type=object_type, object_id="9", data=data)
    d = Delivery.objects.get()
    assert d.event == event and d.payload["link"].endswith(link_end)
