"""Found by the authorization matrix (issue 14): a page that changes nothing answers 405 to a POST (it
answered as to a GET), so that every form the app accepts is one the matrix classifies."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

READ_ONLY = [
    "/", "/models/", "/models/churn/", "/models/churn/versions/1/", "/models/churn/history/", "/promotions/",
    "/promotions/1/", "/promotions/1/gates/", "/drift/", "/audit/", "/audit/verify/", "/policy/", "/compare/",
    "/compare/csv", "/compare/holders/churn/1/", "/events/deliveries/", "/events/deliveries/1/", "/healthz",
]  # fmt: skip


@pytest.mark.parametrize("path", READ_ONLY)
def test_a_read_only_page_refuses_a_post(staff, client, path):
    client.force_login(staff)
    assert client.post(path).status_code == 405


def test_health_answers_a_head_request(client):
    assert client.head("/healthz").status_code == 200
