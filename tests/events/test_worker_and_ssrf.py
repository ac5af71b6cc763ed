"""A real Celery worker sends, retries and finishes deliveries; at delivery time the SSRF rules are applied again
after DNS resolution, the request goes to the very address checked (pinned), and no redirect is followed."""

import socket
import time

import pytest

from audit import services as audit
from events import sending, subscriptions
from events.models import Delivery


def _revise_card() -> None:
    audit.record(
        actor="alice",
        action="card.revised",
        object_type="model_version",
        object_id="churn/3",
        data={"revision": 2, "content_hash": "ab", "comment": "", "score": 1.0},
    )


@pytest.fixture
def worker_env(monkeypatch, receiver):
    """The worker process reads its settings from the environment: allow the receiver, retry quickly."""
    monkeypatch.setenv("OUTBOUND_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("OUTBOUND_BACKOFF_SECONDS", "0.2")
    monkeypatch.setenv("OUTBOUND_MAX_ATTEMPTS", "4")
    return receiver


@pytest.mark.celery
def test_a_worker_retries_a_delivery_until_the_receiver_takes_it(worker_env, celery_worker_process):
    receiver = worker_env
    receiver.statuses = [500, 500]
    subscriptions.create(actor="stan", data={"url": receiver.url(), "events": ["card.revised"]})
    _revise_card()  # committed (transactional test): the delivery is queued for the worker after commit
    d = Delivery.objects.get()
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        d.refresh_from_db()
        if d.status != "pending":
            break
        time.sleep(0.2)
    assert (d.status, d.attempts) == ("succeeded", 3)
    assert [r.headers["X-Registry-Delivery-Id"] for r in receiver.requests] == [d.delivery_id] * 3


@pytest.mark.django_db
def test_a_host_resolving_to_a_forbidden_address_at_delivery_time_fails_without_a_request(
    receiver, settings, monkeypatch
):
    """DNS rebinding: the name resolved to a public address when staff subscribed, to loopback now."""
    real = socket.getaddrinfo
    answers = {"hooks.example.org": "93.184.216.34"}

    def fake(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    subscriptions.create(
        actor="stan", data={"url": f"http://hooks.example.org:{receiver.port}/", "events": ["card.revised"]}
    )
    answers["hooks.example.org"] = "127.0.0.1"
    _revise_card()
    d = Delivery.objects.get()
    assert sending.deliver(delivery_pk=d.pk) == ("failed", None)  # at once: no retry of a refused address
    d.refresh_from_db()
    assert "127.0.0.1 is a loopback address" in d.last_error and receiver.requests == []


@pytest.mark.django_db
def test_the_request_goes_to_the_checked_address_with_the_urls_host_name(receiver, settings, monkeypatch):
    real = socket.getaddrinfo
    calls = []

    def fake(host, port, *args, **kwargs):
        if host == "receiver.internal":
            calls.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    settings.OUTBOUND_ALLOWED_HOSTS = ["receiver.internal"]
    subscriptions.create(
        actor="stan", data={"url": f"http://receiver.internal:{receiver.port}/in", "events": ["card.revised"]}
    )
    _revise_card()
    calls.clear()
    assert sending.deliver(delivery_pk=Delivery.objects.get().pk)[0] == "succeeded"
    assert calls == ["receiver.internal"]  # resolved once, at the check; the connection used that address
    (got,) = receiver.requests
    assert got.headers["Host"] == f"receiver.internal:{receiver.port}" and got.path == "/in"
    assert Delivery.objects.get().attempt_log.get().address == "127.0.0.1"


@pytest.mark.django_db
def test_a_redirect_is_not_followed_and_a_slow_receiver_times_out(receiver, settings):
    settings.OUTBOUND_TIMEOUT_SECONDS = 0.5
    receiver.statuses = [302]
    receiver.location = "http://169.254.169.254/latest/meta-data/"
    subscriptions.create(actor="stan", data={"url": receiver.url(), "events": ["card.revised"]})
    _revise_card()
    d = Delivery.objects.get()
    assert sending.deliver(delivery_pk=d.pk)[0] == "retry"
    d.refresh_from_db()
    assert d.last_status_code == 302 and "redirects are not followed" in d.last_error
    assert len(receiver.requests) == 1
    receiver.delay = 2.0
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=d.created_at)
    started = time.monotonic()
    assert sending.deliver(delivery_pk=d.pk)[0] == "retry"
    assert time.monotonic() - started < 1.9
    d.refresh_from_db()
    assert d.last_status_code is None and "Timeout" in d.last_error
