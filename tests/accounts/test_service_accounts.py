"""Issue 13: staff create service accounts for pipelines, with a role and a first token."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken, ServiceAccount
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db
URL = "/api/v1/service-accounts/"


def _client(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def test_staff_create_a_service_account_with_a_role_and_its_first_token(staff):
    res = _client(staff).post(URL, {"username": "ci-release", "role": "ml-engineers"}, format="json")
    assert res.status_code == 201, res.content
    body = res.json()
    assert (body["username"], body["role"], body["created_by"]) == ("ci-release", "ml-engineers", "staffer")
    account = ServiceAccount.objects.select_related("user").get()
    assert not account.user.has_usable_password()  # it cannot log in nor sign
    assert list(account.user.groups.values_list("name", flat=True)) == ["ml-engineers"]
    me = APIClient().get("/api/v1/tokens/", HTTP_AUTHORIZATION=f"Token {body['token']['key']}")
    assert me.status_code == 200 and me.json()[0]["id"] == body["token"]["id"]
    assert AuditEvent.objects.filter(action="service_account.created", object_id="ci-release").exists()
    assert [a["username"] for a in _client(staff).get(URL).json()] == ["ci-release"]


def test_only_staff_create_service_accounts(user):
    res = _client(user).post(URL, {"username": "ci-release", "role": "approvers"}, format="json")
    assert res.status_code == 403
    assert _client(user).get(URL).status_code == 403
    assert not ServiceAccount.objects.exists() and not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"username": "ci", "role": "admins"}, 400, "role must be one of"),
        ({"username": "has space", "role": "auditors"}, 400, "username"),
        ({"role": "auditors"}, 400, "username"),
        ({"username": "staffer", "role": "auditors"}, 409, "exists already"),
    ],
)
def test_bad_service_account_requests_say_why(staff, body, status, words):
    res = _client(staff).post(URL, body, format="json")
    assert res.status_code == status and words in res.json()["detail"]
