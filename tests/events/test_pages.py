"""Staff's pages of the outbound events: subscribe (the secret shown once), delete, the delivery log (excerpts
escaped and bounded), one delivery and its replay; others get 403."""

import pytest

from audit import services as audit
from events import sealing, sending
from events.models import Delivery, Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def _event():
    audit.record(
        actor="system",
        action="card.revised",
        object_type="model_version",
        object_id="churn/3",
        data={"revision": 2, "content_hash": "ab", "comment": "", "score": 1.0},
    )


def test_staff_subscribe_on_the_page_and_see_the_secret_once(staff_client, receiver):
    page = staff_client.get("/events/")
    assert page.status_code == 200 and b"Add a subscription" in page.content
    created = staff_client.post(
        "/events/", {"url": receiver.url(), "events": ["card.revised", "drift.detected"], "format": "slack"}
    )
    assert created.status_code == 201
    sub = Subscription.objects.get()
    secret = sealing.unseal(sub.sealed_secret, sub.pk)
    assert secret.encode() in created.content and sub.format == "slack"
    assert secret.encode() not in staff_client.get("/events/").content


def test_a_forbidden_url_is_refused_on_the_page_with_the_reason(staff_client):
    refused = staff_client.post("/events/", {"url": "http://169.254.169.254/", "events": ["card.revised"]})
    assert refused.status_code == 400 and b"link-local" in refused.content
    assert not Subscription.objects.exists()


def test_the_delivery_log_escapes_and_bounds_the_receivers_answer(staff_client, receiver, settings):
    settings.OUTBOUND_EXCERPT_BYTES = 64
    settings.OUTBOUND_MAX_ATTEMPTS = 1
    receiver.statuses = [500]
    receiver.answer = b"<script>alert(1)</script>" + b"x" * 5000
    staff_client.post("/events/", {"url": receiver.url(), "events": ["card.revised"]})
    _event()
    d = Delivery.objects.get()
    assert sending.deliver(delivery_pk=d.pk) == ("failed", None)
    d.refresh_from_db()
    assert len(d.response_excerpt) == 64
    log = staff_client.get("/events/deliveries/?status=failed")
    assert log.status_code == 200 and b"card.revised" in log.content
    detail = staff_client.get(f"/events/deliveries/{d.pk}/")
    assert (
        b"&lt;script&gt;alert(1)&lt;/script&gt;" in detail.content and b"<script>alert" not in detail.content
    )
    assert b"Replay" in detail.content
    replayed = staff_client.post(f"/events/deliveries/{d.pk}/replay/")
    copy = Delivery.objects.get(replay_of=d)
    assert replayed.status_code == 302 and replayed["Location"] == f"/events/deliveries/{copy.pk}/"
    assert staff_client.get("/events/deliveries/?status=lost").status_code == 400


def test_staff_delete_a_subscription_on_the_page(staff_client, receiver):
    staff_client.post("/events/", {"url": receiver.url(), "events": ["card.revised"]})
    sub = Subscription.objects.get()
    assert staff_client.post(f"/events/subscriptions/{sub.pk}/delete/").status_code == 302
    sub.refresh_from_db()
    assert sub.active is False


def test_the_pages_are_staff_only(client, user):
    client.force_login(user)
    assert client.get("/events/").status_code == 403
    assert client.get("/events/deliveries/").status_code == 403
    assert client.post("/events/", {"url": "http://example.com/"}).status_code == 403
    assert client.get("/events/").status_code == 403
