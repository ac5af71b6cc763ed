"""The OpenID Connect client (mozilla-django-oidc's), with the checks it leaves to the project: who issued an ID
token (`OIDC_OP_ISSUER`) and for whom (the audience must hold this client's id). Used by the single sign-on
login (registry_ui.oidc) and by signatures that re-authenticate at the provider (approvals.sso_signing)."""

from __future__ import annotations

import jwt
import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend


def sso_enabled() -> bool:
    """Single sign-on is on when the provider's authorization endpoint and this client's id are set."""
    return bool(settings.OIDC_RP_CLIENT_ID and settings.OIDC_OP_AUTHORIZATION_ENDPOINT)


def check_issuer_and_audience(payload: dict, *, issuer: str, client_id: str) -> None:
    if issuer and payload.get("iss") != issuer:
        raise SuspiciousOperation("The ID token was not issued by the configured provider.")
    audience = payload.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise SuspiciousOperation("The ID token was not issued for this client.")


class OidcClient(OIDCAuthenticationBackend):
    """The code exchange (`get_token`) and ID token verification (`verify_token`: signature, nonce, expiry,
    issuer, audience) of mozilla-django-oidc."""

    def retrieve_matching_jwk(self, token):
        # A provider with a single signing key may leave `kid` out of the token's header: that key then signs it.
        if "kid" not in jwt.get_unverified_header(token):
            keys = self._provider_keys()
            if len(keys) == 1:
                return jwt.PyJWK(keys[0])
            raise SuspiciousOperation("The ID token names no key and the provider has several.")
        return super().retrieve_matching_jwk(token)

    def _provider_keys(self) -> list:
        response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=self.get_settings("OIDC_TIMEOUT", None))
        response.raise_for_status()
        return list(response.json().get("keys") or [])

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        check_issuer_and_audience(
            payload, issuer=self.get_settings("OIDC_OP_ISSUER"), client_id=self.OIDC_RP_CLIENT_ID
        )
        return payload
