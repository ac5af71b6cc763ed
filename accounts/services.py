"""Writes of API tokens and service accounts; each one audited in its own transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import keys
from accounts.models import ApiToken, ServiceAccount
from audit import roles
from audit import services as audit
from common.errors import Conflict, InvalidInput, NotFound

MAX_NAME = 100
USERNAME_RE = re.compile(r"^[\w.@+-]{1,150}$")


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # the only time the key exists outside its owner's hands: show it once, store it nowhere


def _name(raw: Any) -> str:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidInput("name is required: a few words saying where the token is used.")
    if not isinstance(raw, str):
        raise InvalidInput("name must be a string.")
    name = raw.strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(f"name is {len(name)} characters long; the limit is {MAX_NAME}.")
    return name


def expiry_days(raw: Any) -> int:
    """`expires_in_days` as given (default API_TOKEN_DEFAULT_DAYS), a whole number from 1 to API_TOKEN_MAX_DAYS."""
    if raw is None or raw == "":
        return settings.API_TOKEN_DEFAULT_DAYS
    limit = settings.API_TOKEN_MAX_DAYS
    try:
        days = int(raw)
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidInput(f"expires_in_days must be a whole number of days from 1 to {limit}.") from None
    if not 1 <= days <= limit:
        raise InvalidInput(f"expires_in_days must be from 1 to {limit}, not {days}.")
    return days


def token_create(*, user, actor, name: Any, expires_in_days: Any = None) -> IssuedToken:
    """A new token of `user` (created by `actor`: the user, staff or a command); the key is returned once."""
    clean_name = _name(name)
    days = expiry_days(expires_in_days)
    key = keys.new_key()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=clean_name,
            lookup=keys.lookup_of(key),
            digest=keys.digest_of(key),
            expires_at=timezone.now() + timedelta(days=days),
        )
        audit.record(
            actor=_username(actor),
            action="token.created",
            object_type="api_token",
            object_id=str(token.pk),
            data={
                "owner": user.get_username(),
                "name": clean_name,
                "expires_at": token.expires_at.isoformat(),
            },
        )
    return IssuedToken(token=token, key=key)


def _username(actor) -> str:
    return actor if isinstance(actor, str) else actor.get_username()


def token_revoke(*, actor, token_id: int) -> ApiToken:
    """Revoke one of `actor`'s own tokens (staff: anyone's); 404 for another's, 409 when already revoked."""
    with transaction.atomic():
        qs = ApiToken.objects.select_for_update().select_related("user")
        if not actor.is_staff:
            qs = qs.filter(user=actor)
        token = qs.filter(pk=token_id).first()
        if token is None:
            raise NotFound(f"You have no API token with id {token_id}.")
        if token.revoked_at is not None:
            raise Conflict(
                f"The token {token.name!r} was revoked already, at {token.revoked_at.isoformat()}."
            )
        token.revoked_at = timezone.now()
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit.record(
            actor=actor.get_username(),
            action="token.revoked",
            object_type="api_token",
            object_id=str(token.pk),
            data={"owner": token.user.get_username(), "name": token.name},
        )
    return token


def service_account_create(*, actor, data: Any) -> tuple[ServiceAccount, IssuedToken]:
    """Staff: a user for a pipeline with one role and no password, and its first token (shown once)."""
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object with username and role.")
    username, role = data.get("username"), data.get("role")
    if not isinstance(username, str) or not USERNAME_RE.match(username):
        raise InvalidInput("username is required: letters, digits and @.+-_ only, 150 characters at most.")
    if role not in roles.GROUPS:
        raise InvalidInput(f"role must be one of {', '.join(roles.GROUPS)}; not {str(role)[:60]!r}.")
    days = expiry_days(data.get("expires_in_days"))
    User = get_user_model()
    try:
        with transaction.atomic():
            if User.objects.filter(username=username).exists():
                raise Conflict(f"A user named {username!r} exists already.")
            # No password (unusable): it can neither log in nor sign.
            user = User.objects.create_user(username=username, password=None)
            user.groups.add(Group.objects.get(name=role))
            account = ServiceAccount.objects.create(user=user, role=role, created_by=actor)
            audit.record(
                actor=actor.get_username(),
                action="service_account.created",
                object_type="user",
                object_id=username,
                data={"role": role},
            )
            issued = token_create(user=user, actor=actor, name=f"{username} pipeline", expires_in_days=days)
    except IntegrityError:  # a concurrent request made the same username
        raise Conflict(f"A user named {username!r} exists already.") from None
    return account, issued


def touch(token: ApiToken, now=None) -> None:
    """Record a use of the token; at most one write a minute per token (API_TOKEN_LAST_USED_EVERY_SECONDS)."""
    now = now or timezone.now()
    every = timedelta(seconds=settings.API_TOKEN_LAST_USED_EVERY_SECONDS)
    if token.last_used_at is None or now - token.last_used_at >= every:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
