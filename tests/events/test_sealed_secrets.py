"""Subscription secrets are sealed at rest under OUTBOUND_SECRETS_KEY: whoever reads or writes the database cannot
sign a delivery a receiver trusts, a sealed secret moved to another subscription does not open, and a delivery
whose secret does not open fails with the reason (nothing sent, no crashed worker, no 5xx)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit import services as audit
from common import webhook_signing
from events import sealing, sending, tasks
from events.models import Delivery, Subscription

pytestmark = pytest.mark.django_db
SECRET = "receiver-shared-secret-0123456789"


def _revised(card: int = 1) -> None:
    audit.record(
        actor="alice",
        action="card.revised",
        object_type="card",
        object_id=str(card),
        data={"revision": 2, "content_hash": "ab", "comment": "", "score": 1.0},
    )


def _verify(got, secret: str) -> webhook_signing.Verified:
    return webhook_signing.verify(
        webhook_signing.REGISTRY, got.headers, got.body, secret=secret, max_skew_seconds=300
    )


def test_the_row_holds_no_usable_secret_and_deliveries_still_verify(receiver, subscribe):
    sub = subscribe(receiver.url(), events=["card.revised"], secret=SECRET)
    row = Subscription.objects.filter(pk=sub["id"]).values().get()
    assert sub["secret"] == SECRET
    assert SECRET not in str(row) and row["sealed_secret"].startswith(f"v1.{sealing.key_id()}.")

    _revised()
    assert sending.deliver(delivery_pk=Delivery.objects.get().pk) == ("succeeded", None)
    (got,) = receiver.requests
    assert _verify(got, SECRET).delivery_id == Delivery.objects.get().delivery_id  # end to end, as before

    # Someone holding the database signs a forged delivery with what the row stores: receivers refuse it.
    forged = dict(got.headers)
    forged.update(
        webhook_signing.signed_headers(webhook_signing.REGISTRY, row["sealed_secret"], "forged-1", got.body)
    )
    with pytest.raises(webhook_signing.SignatureError):
        webhook_signing.verify(
            webhook_signing.REGISTRY, forged, got.body, secret=SECRET, max_skew_seconds=300
        )


def test_a_sealed_secret_copied_onto_another_subscription_does_not_open(receiver, subscribe, staff_api):
    mine = subscribe(receiver.url("/mine"), events=["card.revised"], secret=SECRET)
    theirs = subscribe(receiver.url("/theirs"), events=["card.revised"], secret="t" * 32)
    stolen = Subscription.objects.get(pk=mine["id"]).sealed_secret
    Subscription.objects.filter(pk=theirs["id"]).update(sealed_secret=stolen)
    with pytest.raises(sealing.Unsealable, match="copied from another subscription"):
        sealing.unseal(stolen, theirs["id"])

    _revised()
    outcomes = {d.subscription_id: tasks.deliver_task(d.pk) for d in Delivery.objects.all()}

    assert outcomes == {mine["id"]: "succeeded", theirs["id"]: "failed"}
    assert [r.path for r in receiver.requests] == ["/mine"]  # nothing sent with the copied secret
    failed = Delivery.objects.get(subscription_id=theirs["id"])
    detail = staff_api.get(f"/api/v1/deliveries/{failed.pk}")
    assert detail.status_code == 200
    assert "altered or copied from another subscription" in detail.json()["error"]
    assert detail.json()["attempt_log"][0]["status_code"] is None


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("another-key-" + "x" * 32, "sealed under another OUTBOUND_SECRETS_KEY"),
        ("", "OUTBOUND_SECRETS_KEY is not set on this worker"),
    ],
    ids=["wrong-key", "missing-key"],
)
def test_a_worker_without_the_sealing_key_fails_the_delivery_with_the_reason(
    receiver, subscribe, settings, key, reason
):
    subscribe(receiver.url(), events=["card.revised"], secret=SECRET)
    _revised()
    settings.OUTBOUND_SECRETS_KEY = key

    assert tasks.deliver_task(Delivery.objects.get().pk) == "failed"  # at once: no retry can open it

    d = Delivery.objects.get()
    assert d.status == Delivery.Status.FAILED and reason in d.last_error and not receiver.requests
    assert SECRET not in d.last_error


def test_an_altered_row_fails_the_delivery_with_the_reason(receiver, subscribe):
    sub = subscribe(receiver.url(), events=["card.revised"], secret=SECRET)
    Subscription.objects.filter(pk=sub["id"]).update(sealed_secret=SECRET)  # plain text written back
    _revised()

    assert sending.deliver(delivery_pk=Delivery.objects.get().pk) == ("failed", None)
    assert "is not a sealed secret" in Delivery.objects.get().last_error and not receiver.requests


@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_existing_plain_secrets_and_unseals_them_going_back():
    executor = MigrationExecutor(connection)
    before, after = [("events", "0001_outbound_events")], [("events", "0002_sealed_secrets")]
    executor.migrate(before)
    try:
        Old = executor.loader.project_state(before).apps.get_model("events", "Subscription")
        old = [
            Old.objects.create(
                url=f"https://hooks.example.com/{n}",
                events=["card.revised"],
                secret=f"plain-secret-{n:02}-abcdef",
                created_by="stan",
                created_at=timezone.now(),
            )  # fmt: skip
            for n in range(3)
        ]
        executor = MigrationExecutor(connection)
        executor.migrate(after)

        for sub in old:
            stored = Subscription.objects.get(pk=sub.pk).sealed_secret
            assert sub.secret not in stored
            assert sealing.unseal(stored, sub.pk) == sub.secret
        columns = [
            c.name
            for c in connection.introspection.get_table_description(
                connection.cursor(), "events_subscription"
            )
        ]
        assert "secret" not in columns

        executor = MigrationExecutor(connection)
        executor.migrate(before)  # going back opens them again
        Back = executor.loader.project_state(before).apps.get_model("events", "Subscription")
        assert sorted(Back.objects.values_list("secret", flat=True)) == sorted(s.secret for s in old)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("events"))
