"""The profile page: roles, API tokens (create: the key shown once; revoke) and, for staff, service accounts."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.models import ApiToken, ServiceAccount
from audit import roles
from common.errors import DomainError


def _create(request):
    issued = services.token_create(
        user=request.user,
        actor=request.user,
        name=request.POST.get("name"),
        expires_in_days=request.POST.get("expires_in_days"),
    )
    messages.success(
        request, f"Token {issued.token.name!r} created. Copy its key now: it is not shown again."
    )
    return {"new_key": issued.key, "new_for": request.user.get_username()}


def _revoke(request):
    try:
        token_id = int(request.POST.get("token_id", ""))
    except ValueError:
        return None
    token = services.token_revoke(actor=request.user, token_id=token_id)
    messages.success(request, f"Token {token.name!r} revoked: it no longer authenticates.")
    return {}


def _service_account(request):
    data = {"username": request.POST.get("username", "").strip(), "role": request.POST.get("role")}
    data["expires_in_days"] = request.POST.get("expires_in_days")
    account, issued = services.service_account_create(actor=request.user, data=data)
    messages.success(request, f"Service account {account.user.username!r} created. Copy its key now.")
    return {"new_key": issued.key, "new_for": account.user.username}


ACTIONS = {"create": _create, "revoke": _revoke, "service_account": _service_account}


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    extra = {}
    if request.method == "POST":
        action = ACTIONS.get(request.POST.get("action", ""))
        if action is None or (action is _service_account and not request.user.is_staff):
            return HttpResponseBadRequest("Unknown action.")
        try:
            extra = action(request)
        except DomainError as exc:
            messages.error(request, str(exc))
            extra = {}
        if extra is None:
            return HttpResponseBadRequest("Which token?")
        if not extra:
            return redirect("profile")  # revoked or refused: a GET shows the result (no re-post on reload)
    context = {
        "tokens": ApiToken.objects.filter(user=request.user),
        "groups": request.user.groups.all(),
        "roles": roles.GROUPS,
        "max_days": settings.API_TOKEN_MAX_DAYS,
        "default_days": settings.API_TOKEN_DEFAULT_DAYS,
        "service_accounts": ServiceAccount.objects.select_related("user")
        if request.user.is_staff
        else ServiceAccount.objects.none(),
        **extra,
    }
    response = render(request, "accounts/profile.html", context)
    if extra.get("new_key"):
        response["Cache-Control"] = "no-store"  # the key is in this answer only
    return response
