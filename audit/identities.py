"""Accounts that log in through single sign-on (OpenID Connect): the account of a provider subject, and the roles
its provider groups map to (`OIDC_ROLE_MAP`).

The account is found by the ID token's issuer and subject (`SsoIdentity`), never by a name or e-mail the provider
sends: a provider user named like a local account does not become it (local accounts stay for break-glass).
Roles are set at every login to exactly what the groups map to (groups outside the roles are left alone); each
change goes on the chain through `role_changes`' signals, with "sso" as the actor. A login whose groups map to
no role still logs in, with no rights (see `sso_gate`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from audit.middleware import acting_as
from audit.models import SsoIdentity
from audit.roles import GROUPS, STAFF
from audit.services import record
from common.errors import NotAllowed

SSO_ACTOR = "sso"
# The session key that says how its login authenticated: "sso" through the provider (absent: a password).
SESSION_AUTH_METHOD = "registry_auth_method"


def roles_for(provider_groups: Iterable[str], role_map: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """Our roles (`audit.roles.GROUPS` and `staff`) that the provider's groups map to; none for unknown groups."""
    return frozenset(role for group in provider_groups for role in role_map.get(group, ()))


def provider_groups(claims: Mapping[str, Any]) -> list[str]:
    """The groups claim as a list of strings (a provider may send one string, or nothing)."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    if isinstance(value, str):
        value = [value]
    return sorted({str(v) for v in value if isinstance(v, str | int)})


def has_role(user: Any) -> bool:
    return bool(user.is_staff or user.groups.filter(name__in=GROUPS).exists())


def identity_of(user: Any) -> SsoIdentity | None:
    return SsoIdentity.objects.filter(user_id=user.pk).first()


def _username(claims: Mapping[str, Any], subject: str) -> str:
    name = claims.get(settings.OIDC_USERNAME_CLAIM)
    return (str(name).strip() if isinstance(name, str) and name.strip() else subject)[:150]


def _new_account(issuer: str, subject: str, claims: Mapping[str, Any]) -> SsoIdentity:
    username = _username(claims, subject)
    users = get_user_model()._default_manager
    if users.filter(username=username).exists():
        raise NotAllowed(
            f"An account named {username!r} exists here and is not linked to your single sign-on identity: "
            "ask an administrator."
        )
    user = users.create_user(username, email=str(claims.get("email") or ""))
    user.set_unusable_password()  # signs in through the provider; signatures re-authenticate there too
    user.save(update_fields=["password"])
    identity = SsoIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    record(
        actor=SSO_ACTOR,
        action="user.sso_linked",
        object_type="user",
        object_id=username,
        data={"user_id": user.pk, "issuer": issuer, "subject": subject},
    )
    return identity


def apply_roles(user: Any, roles: frozenset[str]) -> None:
    """Give `user` exactly the role groups and staff flag in `roles` (each change audited by role_changes)."""
    held = set(user.groups.filter(name__in=GROUPS).values_list("name", flat=True))
    wanted = set(roles) & set(GROUPS)
    with acting_as(SSO_ACTOR):
        if wanted - held:
            user.groups.add(*Group.objects.filter(name__in=wanted - held))
        if held - wanted:
            user.groups.remove(*Group.objects.filter(name__in=held - wanted))
        staff = STAFF in roles
        if bool(user.is_staff) != staff:
            user.is_staff = staff
            user.save(update_fields=["is_staff"])


@transaction.atomic
def sso_login(*, issuer: str, subject: str, claims: Mapping[str, Any]) -> Any:
    """The account of a verified provider subject (created on first login), with its roles set from the claims.
    Raises NotAllowed when a local account holds the name the provider gives."""
    identity = SsoIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    if identity is None:
        identity = _new_account(issuer, subject, claims)
    user = identity.user
    groups = provider_groups(claims)
    apply_roles(user, roles_for(groups, settings.OIDC_ROLE_MAP))
    identity.last_login_at = timezone.now()
    identity.provider_groups = groups
    identity.save(update_fields=["last_login_at", "provider_groups"])
    return user
