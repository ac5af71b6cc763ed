"""Outbound events: a real receiver on 127.0.0.1 (allowed through OUTBOUND_ALLOWED_HOSTS), staff's API client,
quick retries."""

import pytest
from rest_framework.test import APIClient

from tests.support.receiver import Receiver


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.OUTBOUND_TIMEOUT_SECONDS = 2.0
    settings.OUTBOUND_BACKOFF_SECONDS = 1.0
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def staff_api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def subscribe(staff_api):
    """Subscribe a URL through the API; returns the answer's JSON (with the secret)."""

    def make(url: str, events=("promotion.applied",), fmt: str = "json", secret: str = "s" * 32) -> dict:
        response = staff_api.post(
            "/api/v1/subscriptions/",
            {"url": url, "events": list(events), "format": fmt, "secret": secret},
            format="json",
        )
        assert response.status_code == 201, response.content
        return response.json()

    return make
