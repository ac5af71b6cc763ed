"""A user who signed in through single sign-on with groups that map to no role has no rights: every page and API
call of that session answers 403 saying so (logging out still works). Local accounts are not concerned (a local
account's groups are set by an administrator), nor requests without a session (API tokens)."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

from audit.identities import SESSION_AUTH_METHOD, has_role, identity_of

OPEN_PATHS = ("/accounts/logout/", "/accounts/login/", "/oidc/", "/static/", "/healthz")


def no_role_message(user) -> str:
    identity = identity_of(user)
    groups = ", ".join(identity.provider_groups) if identity and identity.provider_groups else "none"
    return (
        f"You are signed in through {settings.OIDC_PROVIDER_NAME}, but your groups there ({groups}) map to no "
        "role here: you have no rights in this app. Ask an administrator to map one of your groups to a role."
    )


class NoRoleGate:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and request.session.get(SESSION_AUTH_METHOD) == "sso"
            and not request.path.startswith(OPEN_PATHS)
            and not has_role(user)
        ):
            message = no_role_message(user)
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=403)
            return render(request, "registration/no_role.html", {"message": message}, status=403)
        return self.get_response(request)
