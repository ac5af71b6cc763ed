"""Single sign-on settings (OpenID Connect through mozilla-django-oidc), read from the environment.

Off unless the provider's endpoints and this client's id are given: then the login page offers single sign-on
beside the local accounts (kept for break-glass). The endpoints are given one by one rather than discovered,
so that starting the app never depends on reaching the provider. Group claims map to our roles by
`OIDC_ROLE_MAP` ("idp-group=role,..."; a role is a group of `audit.roles.GROUPS` or `staff`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from audit import roles  # pure (no Django import): safe to read while settings load

ROLE_NAMES = (*roles.GROUPS, roles.STAFF)  # the names are spelled in audit.roles alone


def parse_role_map(text: str) -> dict[str, tuple[str, ...]]:
    """ "idp-a=approvers, idp-a=reviewers, admins=staff" -> {"idp-a": (approvers, reviewers), ...} (names)."""
    mapping: dict[str, list[str]] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        group, sep, role = (s.strip() for s in item.rpartition("="))
        if not sep or not group or role not in ROLE_NAMES:
            raise ImproperlyConfigured(
                f"OIDC_ROLE_MAP: {item!r} is not GROUP=ROLE with ROLE one of {', '.join(ROLE_NAMES)}."
            )
        mapping.setdefault(group, []).append(role)
    return {group: tuple(sorted(set(roles))) for group, roles in mapping.items()}


def sso_settings(env: Any) -> dict[str, Any]:
    """Every OIDC_* setting mozilla-django-oidc and our SSO code read (always defined: empty means off)."""
    values: dict[str, Any] = {
        "OIDC_OP_ISSUER": env.str("OIDC_OP_ISSUER", default=""),
        "OIDC_OP_AUTHORIZATION_ENDPOINT": env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default=""),
        "OIDC_OP_TOKEN_ENDPOINT": env.str("OIDC_OP_TOKEN_ENDPOINT", default=""),
        "OIDC_OP_USER_ENDPOINT": env.str("OIDC_OP_USER_ENDPOINT", default=""),
        "OIDC_OP_JWKS_ENDPOINT": env.str("OIDC_OP_JWKS_ENDPOINT", default=""),
        "OIDC_RP_CLIENT_ID": env.str("OIDC_RP_CLIENT_ID", default=""),
        "OIDC_RP_CLIENT_SECRET": env.str("OIDC_RP_CLIENT_SECRET", default=""),
        "OIDC_RP_SIGN_ALGO": env.str("OIDC_RP_SIGN_ALGO", default="RS256"),
        "OIDC_RP_SCOPES": env.str("OIDC_RP_SCOPES", default="openid email profile"),
        "OIDC_GROUPS_CLAIM": env.str("OIDC_GROUPS_CLAIM", default="groups"),
        "OIDC_USERNAME_CLAIM": env.str("OIDC_USERNAME_CLAIM", default="preferred_username"),
        "OIDC_ROLE_MAP": parse_role_map(env.str("OIDC_ROLE_MAP", default="")),
        "OIDC_PROVIDER_NAME": env.str("OIDC_PROVIDER_NAME", default="single sign-on"),
        "OIDC_TIMEOUT": env.float("OIDC_TIMEOUT", default=10.0),
        # A signature by an SSO user who gives no password sends them to the provider again (prompt=login,
        # max_age=0); the ID token's auth_time must be at most this old when it comes back.
        "SSO_SIGNING_MAX_AGE_SECONDS": env.int("SSO_SIGNING_MAX_AGE_SECONDS", default=120),
        # mozilla-django-oidc's own knobs, fixed: where its callback lands and what a failure shows.
        "OIDC_AUTHENTICATE_CLASS": "registry_ui.oidc.SsoLoginStart",
        "OIDC_CALLBACK_CLASS": "registry_ui.oidc.SsoLoginCallback",
        "LOGIN_REDIRECT_URL_FAILURE": "/accounts/login/?sso=failed",
        "OIDC_USE_NONCE": True,
        "OIDC_STORE_ID_TOKEN": False,
    }
    return values
