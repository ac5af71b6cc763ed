"""Signing under single sign-on: a user who logged in through the identity provider and signs without a password
is sent to the provider to authenticate again (`prompt=login`, `max_age=0`); the signature is put down when the
provider sends them back, from the ID token it returns, never from the session they already had.

`start` keeps what was being signed in the session under a fresh `state` and `nonce`, and redirects; `callback`
takes that entry back (once), exchanges the code, verifies the ID token (signature, nonce, expiry, issuer,
audience: common.oidc) and hands its claims to the signature service, where `approvals.signing` accepts them only
when their `sub` is the signer's and their `auth_time` is fresh (`SSO_SIGNING_MAX_AGE_SECONDS`).
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.crypto import get_random_string
from django.views.decorators.http import require_GET

from approvals import signing
from approvals.workflow import signatures
from audit.identities import SESSION_AUTH_METHOD
from common.errors import DomainError
from common.oidc import OidcClient, sso_enabled

log = logging.getLogger(__name__)
PENDING_KEY = "approvals_sso_signatures"  # state -> what is being signed, its nonce and who signs
MAX_PENDING = 5


def wants_provider(request, password: str | None) -> bool:
    """A signature without a password, in a session opened through the provider: re-authenticate there."""
    return not password and sso_enabled() and request.session.get(SESSION_AUTH_METHOD) == "sso"


def _callback_url(request) -> str:
    return request.build_absolute_uri(reverse("approvals:sso-sign-callback"))


def start(request, promotion_id: int, decision: str, form: dict) -> HttpResponseRedirect:
    """Keep what is being signed (`decision`, the form's meaning and comment) and send the signer to the provider."""
    state = get_random_string(32)
    nonce = get_random_string(32)
    pending = dict(request.session.get(PENDING_KEY) or {})
    while len(pending) >= MAX_PENDING:  # abandoned attempts: keep the newest few
        pending.pop(next(iter(pending)))
    pending[state] = {
        "promotion_id": promotion_id,
        "user_id": request.user.pk,
        "decision": decision,
        "meaning": form["meaning"],
        "comment": (form.get("comment") or "")[: signatures.MAX_COMMENT],
        "nonce": nonce,
    }
    request.session[PENDING_KEY] = pending
    params = {
        "response_type": "code",
        "scope": settings.OIDC_RP_SCOPES,
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "redirect_uri": _callback_url(request),
        "state": state,
        "nonce": nonce,
        "prompt": "login",  # the provider must ask for the credentials again, whatever session it holds
        "max_age": 0,
    }
    return HttpResponseRedirect(f"{settings.OIDC_OP_AUTHORIZATION_ENDPOINT}?{urlencode(params)}")


def _provider_claims(request, nonce: str) -> dict:
    """The verified claims of the ID token the provider returns for this callback's code."""
    client = OidcClient()
    token = client.get_token(
        {
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "client_secret": settings.OIDC_RP_CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": request.GET.get("code", ""),
            "redirect_uri": _callback_url(request),
        }
    )
    id_token = token.get("id_token")
    if not id_token:
        raise SuspiciousOperation("The provider returned no ID token.")
    return client.verify_token(id_token, nonce=nonce)


def _sign(request, entry: dict, claims: dict) -> None:
    kwargs = {
        "promotion_id": entry["promotion_id"],
        "user": request.user,
        "meaning": entry["meaning"],
        "comment": entry["comment"],
        "client_ip": signing.client_ip(request),
        "provider_auth": signing.ProviderAuthentication(claims=claims),
    }
    if entry["decision"] == "reject":
        signatures.approval_reject(**kwargs)
        messages.success(request, "Rejected. Your signature is recorded.")
    else:
        signatures.approval_grant(**kwargs)
        messages.success(request, "Approved. Your signature is recorded.")


@login_required
@require_GET
def callback(request):
    """Where the provider sends the signer back: sign with the fresh authentication, or say why not."""
    pending = dict(request.session.get(PENDING_KEY) or {})
    entry = pending.pop(request.GET.get("state", ""), None)
    request.session[PENDING_KEY] = pending  # each state is used once
    if entry is None or entry["user_id"] != request.user.pk or not sso_enabled():
        return HttpResponseBadRequest("No signature is waiting for this answer from the identity provider.")
    back = redirect("approvals:promotion-detail", pk=entry["promotion_id"])
    if request.GET.get("error") or not request.GET.get("code"):
        messages.error(
            request, "The identity provider did not re-authenticate you: the signature was not recorded."
        )
        return back
    try:
        claims = _provider_claims(request, entry["nonce"])
    except (SuspiciousOperation, requests.RequestException) as exc:
        log.warning("signing re-authentication refused: %s", exc)
        messages.error(
            request, "The identity provider's answer could not be verified: the signature was not recorded."
        )
        return back
    try:
        _sign(request, entry, claims)
    except DomainError as exc:
        messages.error(request, str(exc))
    return back
