"""Found by the authorization matrix (issue 14): an unknown delivery is a 404 for staff on its page and in the
API (the page answered 500), and a 403 for anyone else (events.access.access_delivery)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_an_unknown_delivery_is_not_found_on_its_page_and_in_the_api(staff, client):
    client.force_login(staff)
    assert client.get("/events/deliveries/987654/").status_code == 404
    api = APIClient()
    api.force_authenticate(staff)
    answer = api.get("/api/v1/deliveries/987654")
    assert answer.status_code == 404 and "No delivery #987654" in answer.json()["detail"]


def test_a_delivery_page_is_refused_to_anyone_but_staff_known_or_not(user, client):
    client.force_login(user)
    assert client.get("/events/deliveries/987654/").status_code == 403
