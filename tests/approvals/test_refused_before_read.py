"""Found by the authorization matrix (issue 14): who may not request a promotion or a rollback, or adopt a
holder, is refused (403) before the request's body is read — never a 400 about a body they may not send — and
the request and rollback forms are not shown to them."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_as(people):
    def make(who: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(people[who])
        return client

    return make


@pytest.mark.parametrize("path", ["/api/v1/promotions/", "/api/v1/rollbacks/"])
def test_an_approver_asking_for_a_promotion_or_rollback_with_an_empty_body_is_refused_not_told_the_fields(
    churn, api_as, path
):
    refused = api_as("a1").post(path, {}, format="json")
    assert refused.status_code == 403 and "ml-engineers, reviewers or staff" in refused.json()["detail"]
    assert api_as("requester").post(path, {}, format="json").status_code == 400


def test_adopting_a_holder_with_an_empty_body_is_refused_to_anyone_but_staff(churn, api_as):
    path = "/api/v1/models/churn/history/adopt"
    assert api_as("requester").post(path, {}, format="json").status_code == 403
    assert api_as("staff").post(path, {}, format="json").status_code == 400


@pytest.mark.parametrize(
    "path", ["/promotions/request/churn/2/", "/models/churn/rollback/?target=production"]
)
def test_the_request_and_rollback_forms_are_refused_to_who_may_not_send_them(churn, people, client, path):
    client.force_login(people["a1"])
    assert client.get(path).status_code == 403
    client.force_login(people["requester"])
    assert client.get(path).status_code == 200
