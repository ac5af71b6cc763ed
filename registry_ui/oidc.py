"""Single sign-on login (OpenID Connect, mozilla-django-oidc): its backend and its two views, off unless configured.

mozilla-django-oidc runs the code flow (state, nonce, the token exchange, the ID token's signature against the
provider's keys; issuer and audience in common.oidc); this module adds what it leaves to the project: the
account is found by issuer and subject (`audit.identities`), the roles follow the provider's groups, and the session remembers that it was opened through the provider (a signature then re-authenticates
there: `approvals.sso_signing`).
"""

from __future__ import annotations

import logging

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import LoginView
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from audit.identities import SESSION_AUTH_METHOD, sso_login
from common.errors import NotAllowed
from common.oidc import OidcClient, sso_enabled

log = logging.getLogger(__name__)


class SsoBackend(OidcClient):
    """Authenticates the provider's callback only (never a username and password)."""

    def authenticate(self, request, **kwargs):
        if not sso_enabled() or "nonce" not in kwargs:
            return None  # a local login, or SSO is off
        try:
            return super().authenticate(request, **kwargs)
        except (SuspiciousOperation, requests.RequestException) as exc:
            # A refused code, a token that fails a check, a provider that cannot be reached: no login, a
            # message on the login page (never a 5xx).
            log.warning("single sign-on refused: %s", exc)
            return None

    def get_or_create_user(self, access_token, id_token, payload):
        user_info = self.get_userinfo(access_token, id_token, payload)
        if user_info.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The user info answer names another subject than the ID token.")
        try:
            return sso_login(issuer=payload["iss"], subject=payload["sub"], claims={**payload, **user_info})
        except NotAllowed as exc:
            messages.error(self.request, str(exc))
            return None


def _require_sso() -> None:
    if not sso_enabled():
        raise Http404("Single sign-on is not configured.")


class SsoLoginStart(OIDCAuthenticationRequestView):
    def get(self, request):
        _require_sso()
        return super().get(request)


class SsoLoginCallback(OIDCAuthenticationCallbackView):
    def get(self, request):
        _require_sso()
        return super().get(request)

    def login_success(self):
        response = super().login_success()
        # Read by the signing page (a signature re-authenticates at the provider) and by audit.sso_gate (a login
        # whose groups map to no role gets a page saying so, and nothing else).
        self.request.session[SESSION_AUTH_METHOD] = "sso"
        return response


class SsoAwareLoginView(LoginView):
    """The login page: the local account form (break-glass) and, when configured, single sign-on."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso_enabled"] = sso_enabled()
        context["sso_name"] = settings.OIDC_PROVIDER_NAME
        context["sso_failed"] = self.request.GET.get("sso") == "failed"
        return context
