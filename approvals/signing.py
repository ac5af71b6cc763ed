"""Who may put a signature down right now: the signer's own fresh authentication, and the signing lockout.

Every signature re-authenticates the signer with their password (21 CFR 11.200(a)): no session age, cookie
or token stands in for it, whatever credentials the request carries. Wrong passwords are counted per user
and per client address (`SigningFailure` rows); past `SIGNING_FAILURE_LIMIT` failures within
`SIGNING_LOCKOUT_MINUTES` signing is refused for that user or address, even with the right password. The
login form has the same protection through django-axes (settings `AXES_*`); the two counters are separate
tables with the same thresholds.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.models import SigningFailure
from common.errors import NotAllowed, Throttled

WRONG_PASSWORD = "Wrong password: the signature was not recorded."
PASSWORD_REQUIRED = "Re-enter your password to sign: every signature re-authenticates the signer."


class WrongPassword(NotAllowed):
    """One answer for every wrong password (403), wherever a signature asks for it."""


def _limit() -> int:
    return int(settings.SIGNING_FAILURE_LIMIT)


def _window() -> timedelta:
    return timedelta(minutes=float(settings.SIGNING_LOCKOUT_MINUTES))


def locked_out(username: str, client_ip: str | None) -> bool:
    recent = SigningFailure.objects.filter(at__gte=timezone.now() - _window())
    if recent.filter(username=username).count() >= _limit():
        return True
    return bool(client_ip) and recent.filter(ip_address=client_ip).count() >= _limit()


def reauthenticate(user, password: str | None, *, client_ip: str | None = None) -> str:
    """The signer's own authentication for one signature; returns how they authenticated (`auth_method`).
    Raises Throttled when locked out, NotAllowed for a missing or wrong password (one answer for every
    wrong password, whatever else is true of the promotion)."""
    username = user.get_username()
    if locked_out(username, client_ip):
        minutes = int(float(settings.SIGNING_LOCKOUT_MINUTES))
        raise Throttled(
            f"Too many wrong passwords: signing is locked for {minutes} minutes for this account or address."
        )
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
