"""Issue 8, "Trust holes", item 6: logins and signing lock after too many wrong passwords (logins: per user and
address together since issue 13, the lockout audited; signing: per user and per address), the approve endpoint
is no wrong-password oracle (one answer in the API and the page), and failed and refused signing attempts are
audit events."""

from __future__ import annotations

import pytest

from approvals.models import Approval
from approvals.workflow import cancel
from audit.models import AuditEvent
from tests.security.test_security_signatures import _approve_url, _token_client
from tests.support.governance import (
    PASSWORD,
    approve,
    request_and_check,
)

pytestmark = pytest.mark.django_db


# --- 6. brute force ----------------------------------------------------------------------------------------
def _login(client, username, password, address):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_logins_lock_after_repeated_wrong_passwords_for_a_user_from_an_address(people, client, settings):
    """Issue 13: by user and address together; the lockout is one audit event."""
    answers = [
        _login(client, "ann", "guess", "10.0.0.1").status_code for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers[-1] == 429  # the failure that reaches the limit locks
    res = _login(client, "ann", PASSWORD, "10.0.0.1")
    assert res.status_code == 429
    assert "_auth_user_id" not in client.session
    _login(client, "ann", "guess", "10.0.0.1")  # more attempts while locked: no second event
    locked = AuditEvent.objects.get(action="login.locked_out")
    assert locked.object_id == "ann"
    assert (locked.data["ip_address"], locked.data["failures"]) == ("10.0.0.1", settings.AXES_FAILURE_LIMIT)


def test_a_lockout_holds_one_user_at_one_address_only(people, client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "ann", "guess", "10.0.0.9")
    # Another user at that address, and the same user elsewhere, still log in: a guesser cannot lock ann out.
    res = _login(client, "bob", PASSWORD, "10.0.0.9")
    assert res.status_code == 302 and client.session["_auth_user_id"] == str(people["a2"].pk)
    client.logout()
    res = _login(client, "ann", PASSWORD, "10.0.0.10")
    assert res.status_code == 302 and client.session["_auth_user_id"] == str(people["a1"].pk)


def test_signing_locks_after_too_many_wrong_passwords(churn, people, settings):
    p = request_and_check(people["requester"], version=2, target="production")
    thief = _token_client(people["a1"])
    for _ in range(settings.SIGNING_FAILURE_LIMIT):
        assert thief.post(_approve_url(p), {"password": "guess"}, format="json").status_code == 403
    res = thief.post(_approve_url(p), {"password": PASSWORD}, format="json")
    assert res.status_code == 429
    assert not Approval.objects.exists()
    # The same address is locked for another account too.
    res = _token_client(people["a2"]).post(_approve_url(p), {"password": PASSWORD}, format="json")
    assert res.status_code == 429
    res = _token_client(people["a2"]).post(
        _approve_url(p), {"password": PASSWORD}, format="json", REMOTE_ADDR="10.1.1.1"
    )
    assert res.status_code == 200


def test_the_approve_endpoint_does_not_tell_whether_a_password_is_right(churn, people):
    p = request_and_check(people["requester"], version=2, target="production")
    approve(p, people["a1"])
    thief = _token_client(people["a1"])  # holds ann's token; ann has already signed
    wrong = thief.post(_approve_url(p), {"password": "guess"}, format="json")
    right = thief.post(_approve_url(p), {"password": PASSWORD}, format="json")
    assert (wrong.status_code, wrong.json()) == (right.status_code, right.json())
    cancel.cancel(promotion_id=p.pk, user=people["requester"])
    thief = _token_client(people["a2"])
    wrong = thief.post(_approve_url(p), {"password": "guess"}, format="json")
    right = thief.post(_approve_url(p), {"password": PASSWORD}, format="json")
    assert (wrong.status_code, wrong.json()) == (right.status_code, right.json())


def test_one_answer_for_a_wrong_password_on_approve_and_reject_in_the_api_and_the_page(churn, people, client):
    p = request_and_check(people["requester"], version=2, target="production")
    answers = set()
    for verb in ("approve", "reject"):
        res = _token_client(people["a1"]).post(
            f"/api/v1/promotions/{p.pk}/{verb}", {"password": "guess"}, format="json"
        )
        answers.add((res.status_code, res.json()["detail"]))
    client.force_login(people["a2"])
    for verb in ("approve", "reject"):
        res = client.post(
            f"/promotions/{p.pk}/sign/",
            {"decision": verb, "password": "guess", "meaning": "review"},
            follow=True,
        )
        assert "Wrong password: the signature was not recorded." in res.content.decode()
    assert answers == {(403, "Wrong password: the signature was not recorded.")}


def test_failed_and_refused_signing_attempts_are_audit_events(churn, people):
    p = request_and_check(people["requester"], version=2, target="production")
    _token_client(people["a1"]).post(_approve_url(p), {"password": "guess"}, format="json")
    _token_client(people["requester"]).post(_approve_url(p), {"password": PASSWORD}, format="json")
    _token_client(people["outsider"]).post(
        f"/api/v1/promotions/{p.pk}/reject", {"password": "x"}, format="json"
    )
    events = list(
        AuditEvent.objects.filter(action__startswith="signature.")
        .order_by("seq")
        .values_list("actor", "action")
    )
    assert events == [
        ("ann", "signature.failed"),
        ("rita", "signature.refused"),
        ("otto", "signature.refused"),
    ]
    refused = AuditEvent.objects.filter(action="signature.refused", actor="rita").get()
    assert refused.object_id == str(p.pk) and "requested this promotion" in refused.data["reason"]
