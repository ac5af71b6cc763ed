"""Who may put a signature down right now: the signer's own fresh authentication, and the signing lockout.

Every signature re-authenticates the signer with their password (21 CFR 11.200(a)), or, for a user who logged
in through single sign-on, with a fresh authentication at the identity provider (approvals.sso_signing): no
session age, cookie or token stands in for it, whatever credentials the request carries. Wrong passwords are counted per user
and per client address (`SigningFailure` rows); past `SIGNING_FAILURE_LIMIT` failures within
`SIGNING_LOCKOUT_MINUTES` signing is refused for that user or address, even with the right password. The
login form has the same protection through django-axes (settings `AXES_*`); the two counters are separate
tables with the same thresholds.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.models import SigningFailure
from audit.identities import identity_of
from common.errors import NotAllowed, Throttled

WRONG_PASSWORD = "Wrong password: the signature was not recorded."
PASSWORD_REQUIRED = "Re-enter your password to sign: every signature re-authenticates the signer."


class WrongPassword(NotAllowed):
    """One answer for every wrong password (403), wherever a signature asks for it."""


@dataclass(frozen=True)
class ProviderAuthentication:
    """The claims of an ID token the identity provider returned for this signature (approvals.sso_signing
    verified its signature, nonce, expiry, issuer and audience before building this)."""

    claims: Mapping[str, Any] = field(default_factory=dict)


def check_provider_authentication(user, auth: ProviderAuthentication) -> None:
    """A fresh authentication of this very user at the provider: the ID token's issuer and subject are the
    account's (`SsoIdentity`), and its auth_time at most SSO_SIGNING_MAX_AGE_SECONDS old."""
    identity = identity_of(user)
    claims = auth.claims
    if identity is None or (claims.get("iss"), claims.get("sub")) != (identity.issuer, identity.subject):
        raise NotAllowed("The identity provider authenticated someone else: the signature was not recorded.")
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float) or isinstance(auth_time, bool):
        raise NotAllowed(
            "The identity provider did not say when you authenticated: the signature was not recorded."
        )
    age = time.time() - float(auth_time)
    limit = int(settings.SSO_SIGNING_MAX_AGE_SECONDS)
    if age > limit or age < -60:  # a minute of clock skew the other way
        raise NotAllowed(
            f"Your authentication at the identity provider is not fresh ({int(age)} s old; a signature needs one "
            f"at most {limit} s old): the signature was not recorded. Sign again and enter your credentials there."
        )


def _limit() -> int:
    return int(settings.SIGNING_FAILURE_LIMIT)


def _window() -> timedelta:
    return timedelta(minutes=float(settings.SIGNING_LOCKOUT_MINUTES))


def locked_out(username: str, client_ip: str | None) -> bool:
    recent = SigningFailure.objects.filter(at__gte=timezone.now() - _window())
    if recent.filter(username=username).count() >= _limit():
        return True
    return bool(client_ip) and recent.filter(ip_address=client_ip).count() >= _limit()


def reauthenticate(
    user,
    password: str | None,
    *,
    client_ip: str | None = None,
    provider_auth: ProviderAuthentication | None = None,
) -> str:
    """The signer's own authentication for one signature; returns how they authenticated (`auth_method`):
    their password, or a fresh authentication at the identity provider (`provider_auth`). Raises Throttled when
    locked out, NotAllowed for a missing or wrong password (one answer for every wrong password, whatever else
    is true of the promotion) or a provider authentication that is not fresh or not theirs."""
    username = user.get_username()
    if locked_out(username, client_ip):
        minutes = int(float(settings.SIGNING_LOCKOUT_MINUTES))
        raise Throttled(
            f"Too many wrong passwords: signing is locked for {minutes} minutes for this account or address."
        )
    if not password and provider_auth is not None:
        check_provider_authentication(user, provider_auth)
        return "sso"
    if not password:
        raise NotAllowed(PASSWORD_REQUIRED)
    # The account as stored now (not the request's copy); not django.contrib.auth.authenticate(): without a
    # request its failure signal would reach the login lockout, which cannot count it (no address).
    signer = get_user_model()._default_manager.filter(pk=user.pk).first()
    if signer is None or not signer.is_active or not signer.check_password(password):
        SigningFailure.objects.create(username=username, ip_address=client_ip or None, at=timezone.now())
        raise WrongPassword(WRONG_PASSWORD)
    # The account proved itself: its own count starts again (an address's count does not).
    SigningFailure.objects.filter(username=username).delete()
    return "password"


def client_ip(request) -> str | None:
    """The client address as the login lockout sees it (django-axes' resolution, proxies as configured)."""
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or None
