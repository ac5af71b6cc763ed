"""A real OpenID Connect provider for the single sign-on tests: oidc-provider-mock's server (authlib behind a
werkzeug HTTP server) in a thread, and the browser's part of the code flow driven through Django's test client
and HTTP requests to the provider (its authorization form answers with the code, as a user's click would)."""

from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import urlsplit

import requests
from oidc_provider_mock import run_server_in_thread

CLIENT_ID = "registry-governance"
CLIENT_SECRET = "test-client-secret"
ROLE_MAP = {
    "ml-team": ("ml-engineers",),
    "model-review": ("reviewers",),
    "risk-approvers": ("approvers",),
    "internal-audit": ("auditors",),
    "platform-admins": ("staff",),
}


@contextmanager
def provider():
    """The provider's base URL while it runs."""
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def client_settings(base: str) -> dict:
    """The OIDC_* settings of this app for the provider at `base`."""
    return {
        "OIDC_OP_ISSUER": base,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{base}/oauth2/authorize",
        "OIDC_OP_TOKEN_ENDPOINT": f"{base}/oauth2/token",
        "OIDC_OP_USER_ENDPOINT": f"{base}/userinfo",
        "OIDC_OP_JWKS_ENDPOINT": f"{base}/jwks",
        "OIDC_RP_CLIENT_ID": CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_ROLE_MAP": ROLE_MAP,
        "OIDC_PROVIDER_NAME": "Example SSO",
    }


def set_user(base: str, sub: str, **claims) -> None:
    """The provider's user `sub` and the claims its tokens carry (groups, preferred_username, email...)."""
    requests.put(f"{base}/users/{sub}", json=claims, timeout=10).raise_for_status()


def authorize_at_provider(authorize_url: str, sub: str) -> str:
    """The user `sub` authenticates at the provider: returns where the provider sends the browser back."""
    res = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert res.status_code == 302, res.text[:500]
    return res.headers["Location"]


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def log_in_through_provider(client, sub: str, *, next_path: str = "/"):
    """The whole login: our start view, the provider, our callback. Returns the callback's answer."""
    start = client.get("/oidc/authenticate/", {"next": next_path})
    assert start.status_code == 302, start.status_code
    back = authorize_at_provider(start["Location"], sub)
    return client.get(local_path(back))
