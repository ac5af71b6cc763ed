"""Subscriptions to outbound events through the API: staff only, audited, and refused for URLs a delivery may
not reach (SSRF) — with the reason."""

import socket

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from events.models import Subscription

pytestmark = pytest.mark.django_db
URL = "/api/v1/subscriptions/"


def test_staff_subscribes_a_url_and_sees_the_secret_only_in_the_answer(staff_api, receiver):
    created = staff_api.post(
        URL,
        {"url": receiver.url(), "events": ["promotion.applied", "card.revised"], "format": "slack"},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert len(body["secret"]) >= 16  # generated when the request brings none
    assert body["events"] == ["promotion.applied", "card.revised"] and body["format"] == "slack"
    listed = staff_api.get(URL).json()
    assert [s["id"] for s in listed] == [body["id"]] and "secret" not in listed[0]
    event = AuditEvent.objects.get(action="subscription.created")
    assert event.object_id == str(body["id"]) and body["secret"] not in str(event.data)


def test_deleting_a_subscription_deactivates_it_audited_then_404(staff_api, subscribe, receiver):
    sub = subscribe(receiver.url())
    assert staff_api.delete(f"{URL}{sub['id']}").status_code == 204
    assert Subscription.objects.get(pk=sub["id"]).active is False
    assert AuditEvent.objects.filter(action="subscription.deleted", object_id=str(sub["id"])).exists()
    assert staff_api.delete(f"{URL}{sub['id']}").status_code == 404
    assert staff_api.get(URL).json()[0]["active"] is False


def test_only_staff_manage_subscriptions_and_read_deliveries(api, staff_api, subscribe, receiver):
    sub = subscribe(receiver.url())
    body = {"url": receiver.url(), "events": ["promotion.applied"]}
    assert api.get(URL).status_code == 403
    assert api.post(URL, body, format="json").status_code == 403
    assert api.delete(f"{URL}{sub['id']}").status_code == 403
    assert api.get("/api/v1/deliveries/").status_code == 403
    assert api.post("/api/v1/deliveries/1/replay").status_code == 403
    anonymous = APIClient()
    assert anonymous.get(URL).status_code == 401
    assert anonymous.get("/api/v1/deliveries/").status_code == 401
    assert Subscription.objects.filter(active=True).count() == 1


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata
        ("http://[fd00:ec2::254]/", "private"),  # AWS metadata over IPv6
        ("http://100.100.100.200/", "not a public address"),  # Alibaba metadata (shared address space)
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10:8080/hook", "private"),
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "embeds an IPv4"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://localhost/hook", "loopback"),  # a name resolving to loopback
    ],
)
def test_a_url_resolving_to_a_forbidden_address_is_refused_with_the_reason(staff_api, url, words):
    response = staff_api.post(URL, {"url": url, "events": ["promotion.applied"]}, format="json")
    assert response.status_code == 400
    assert words in response.json()["detail"] and "OUTBOUND_ALLOWED_HOSTS" in response.json()["detail"]
    assert not Subscription.objects.exists()


def test_a_hostname_that_resolves_to_loopback_is_refused(staff_api, monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "innocent.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    response = staff_api.post(
        URL, {"url": "https://innocent.example.com/hook", "events": ["drift.detected"]}, format="json"
    )
    assert response.status_code == 400 and "127.0.0.1 is a loopback address" in response.json()["detail"]


def test_staff_allow_a_host_explicitly(staff_api, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    response = staff_api.post(
        URL, {"url": "http://127.0.0.1:9/hook", "events": ["card.revised"]}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "field_words"),
    [
        ({"url": "ftp://example.com/x", "events": ["card.revised"]}, "http:// or https://"),
        ({"url": "https://user:pw@example.com/", "events": ["card.revised"]}, "user name or password"),
        ({"url": "https:///nohost", "events": ["card.revised"]}, "names no host"),
        ({"url": "http://exa mple.com/", "events": ["card.revised"]}, "spaces"),
        ({"url": 42, "events": ["card.revised"]}, "url is required"),
        ({"url": "http://127.0.0.1:9/", "events": []}, "events is required"),
        ({"url": "http://127.0.0.1:9/", "events": "card.revised"}, "events is required"),
        ({"url": "http://127.0.0.1:9/", "events": ["card.eaten"]}, "Unknown event card.eaten"),
        ({"url": "http://127.0.0.1:9/", "events": ["card.revised"], "secret": "short"}, "secret must be"),
        ({"url": "http://127.0.0.1:9/", "events": ["card.revised"], "format": "xml"}, "format must be"),
        (["not", "an", "object"], "JSON object"),
    ],
)
def test_bad_input_is_a_400_with_a_sentence(staff_api, settings, body, field_words):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    response = staff_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert field_words in response.json()["detail"]


def test_deliveries_filters_are_checked(staff_api):
    assert staff_api.get("/api/v1/deliveries/?status=lost").status_code == 400
    assert staff_api.get("/api/v1/deliveries/?subscription=abc").status_code == 400
    assert staff_api.get("/api/v1/deliveries/?subscription=1&status=failed").json()["count"] == 0
    assert staff_api.post("/api/v1/deliveries/999/replay").status_code == 404
