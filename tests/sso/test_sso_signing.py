"""Issue 13, signing under single sign-on: a user who logged in through the provider and signs without a password
is sent back to the provider (prompt=login, max_age=0); the signature is accepted only when the returned ID
token's auth_time is fresh and its sub is the signer's, and it records auth_method "sso". No session or API
token stands in for the fresh authentication."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from approvals.models import Approval
from audit.models import AuditEvent
from tests.support import oidc
from tests.support.governance import request_and_check
from tests.support.tokens import issue_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def promotion(churn, people):
    """A staging promotion awaiting one signature from reviewers or approvers."""
    return request_and_check(people["requester"], version=2, target="staging")


@pytest.fixture
def signer(client, sso):
    """Sue, an approver who logged in through the provider."""
    oidc.set_user(sso, "sub-sue", preferred_username="sue", groups=["risk-approvers"])
    oidc.log_in_through_provider(client, "sub-sue")
    return client


def _sign_without_password(client, promotion, decision="approve"):
    return client.post(
        f"/promotions/{promotion.pk}/sign/", {"decision": decision, "meaning": "approval", "comment": "ok"}
    )


def test_signing_without_a_password_sends_the_sso_user_to_the_provider_to_log_in_again(signer, promotion):
    res = _sign_without_password(signer, promotion)
    assert res.status_code == 302
    query = parse_qs(urlsplit(res["Location"]).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    assert not Approval.objects.exists()  # nothing is signed before the provider answers


def test_a_fresh_authentication_at_the_provider_signs_and_records_auth_method_sso(signer, promotion, sso):
    start = _sign_without_password(signer, promotion)
    back = signer.get(oidc.local_path(oidc.authorize_at_provider(start["Location"], "sub-sue")))
    assert back.status_code == 302 and back["Location"] == f"/promotions/{promotion.pk}/"
    approval = Approval.objects.get(promotion=promotion)
    assert (approval.reviewer.username, approval.auth_method) == ("sue", "sso")
    promotion.refresh_from_db()
    assert promotion.state == "approved"
    signed = AuditEvent.objects.get(action="promotion.signed", object_id=str(promotion.pk))
    assert signed.actor == "sue" and signed.data["auth_method"] == "sso"
    api = signer.get(f"/api/v1/promotions/{promotion.pk}/").json()
    assert api["approvals"][0]["auth_method"] == "sso"


def test_a_stale_auth_time_from_the_provider_is_refused(signer, promotion, sso):
    # The provider answers with the time of an old login (as one that ignored prompt=login would).
    oidc.set_user(
        sso, "sub-sue", preferred_username="sue", groups=["risk-approvers"], auth_time=int(time.time()) - 3600
    )
    start = _sign_without_password(signer, promotion)
    back = signer.get(oidc.local_path(oidc.authorize_at_provider(start["Location"], "sub-sue")), follow=True)
    assert "is not fresh" in back.content.decode()
    assert not Approval.objects.exists()
    refused = AuditEvent.objects.get(action="signature.refused", object_id=str(promotion.pk))
    assert refused.actor == "sue" and "not fresh" in refused.data["reason"]


def test_an_authentication_of_another_provider_user_is_refused(signer, promotion, sso):
    oidc.set_user(sso, "sub-mallory", preferred_username="mallory", groups=["risk-approvers"])
    start = _sign_without_password(signer, promotion)
    back = signer.get(
        oidc.local_path(oidc.authorize_at_provider(start["Location"], "sub-mallory")), follow=True
    )
    assert "authenticated someone else" in back.content.decode()
    assert not Approval.objects.exists()


def test_a_provider_answer_is_used_once_and_only_for_the_signature_that_asked(signer, promotion):
    start = _sign_without_password(signer, promotion, decision="reject")
    callback = oidc.local_path(oidc.authorize_at_provider(start["Location"], "sub-sue"))
    signer.get(callback)
    assert Approval.objects.get().decision == "reject"
    assert signer.get(callback).status_code == 400  # replayed: no signature is waiting for it
    assert signer.get("/promotions/sso-sign/callback/?state=made-up&code=x").status_code == 400


def test_neither_the_session_nor_an_api_token_stands_in_for_the_fresh_authentication(signer, promotion):
    sue = get_user_model().objects.get(username="sue")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_key(sue)}")
    res = api.post(f"/api/v1/promotions/{promotion.pk}/approve", {}, format="json")
    assert res.status_code == 403
    res = signer.post(f"/api/v1/promotions/{promotion.pk}/approve", {}, format="json")  # the SSO session
    assert res.status_code == 403
    assert not Approval.objects.exists()
