"""`Authorization: Token <key>` against hashed keys (keys.py), with a sentence for an expired or revoked token.

First among DRF's authentication classes: an anonymous request gets 401 with `WWW-Authenticate: Token`.
A token authenticates its user for reading and requesting; a signature still asks for the signer's own
password (approvals.signing), whatever token the request carries.
"""

from __future__ import annotations

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from accounts import keys, services
from accounts.models import ApiToken

INVALID = "Invalid token: no API token has this key. Create one on your profile page (/accounts/profile/)."


class HashedTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate_header(self, request):
        return self.keyword

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: write it as 'Authorization: Token <key>', the key without spaces."
            )
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(INVALID) from None
        token = self.find(key)
        return token.user, token

    def find(self, key: str) -> ApiToken:
        if len(key) > keys.MAX_KEY_LENGTH:
            raise exceptions.AuthenticationFailed(INVALID)
        candidates = ApiToken.objects.filter(lookup=keys.lookup_of(key)).select_related("user")
        token = next((t for t in candidates if keys.matches(key, t.digest)), None)
        if token is None:
            raise exceptions.AuthenticationFailed(INVALID)
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                f"This API token ({token.name!r}) was revoked at {token.revoked_at.isoformat()}; "
                "use another token or create a new one."
            )
        if token.expired(now):
            raise exceptions.AuthenticationFailed(
                f"This API token ({token.name!r}) expired at {token.expires_at.isoformat()}; "
                "create a new one on your profile page."
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("This API token's user is deactivated.")
        services.touch(token, now)
        return token
