"""Staff's pages of the outbound events: subscriptions (create, delete), the delivery log, one delivery (replay).
Short functions: access helper → form data → one service or selector → render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from common.errors import DomainError
from common.pages import paginate
from events import access, outbox, selectors, subscriptions
from events.catalog import EVENTS
from events.models import Delivery, Subscription


def _subscriptions_context(form: dict, error: str | None = None, created: Subscription | None = None) -> dict:
    return {
        "subscriptions": selectors.subscriptions(),
        "events": EVENTS,
        "formats": Subscription.Format.choices,
        "form": form,
        "error": error,
        "created": created,
        "active_nav": "events",
    }


@login_required
@require_http_methods(["GET", "POST"])
def subscription_list(request):
    """The subscriptions and the form that adds one; after a create, the secret is shown on this answer only."""
    access.require_staff(request.user)
    if request.method == "GET":
        return render(request, "events/subscriptions.html", _subscriptions_context({"format": "json"}))
    form = {
        "url": request.POST.get("url", ""),
        "events": request.POST.getlist("events"),
        "secret": request.POST.get("secret", ""),
        "format": request.POST.get("format", "json"),
        "description": request.POST.get("description", ""),
    }
    try:
        created = subscriptions.create(actor=request.user.get_username(), data=form)
    except DomainError as exc:
        context = _subscriptions_context({**form, "secret": ""}, error=str(exc))
        return render(request, "events/subscriptions.html", context, status=400)
    context = _subscriptions_context({"format": "json"}, created=created)
    return render(request, "events/subscriptions.html", context, status=201)


@login_required
@require_POST
def subscription_delete(request, pk: int):
    access.require_staff(request.user)
    try:
        sub = subscriptions.deactivate(actor=request.user.get_username(), subscription_id=pk)
        messages.success(request, f"Subscription #{sub.pk} deleted: nothing more is sent to {sub.url}.")
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("events-subscriptions")


@login_required
@require_safe
def delivery_list(request):
    access.require_staff(request.user)
    try:
        filters = selectors.parse_filters(request.GET)
        error = None
    except DomainError as exc:
        filters, error = {}, str(exc)
    context = {
        "page_obj": paginate(request, selectors.deliveries(**filters)),
        "filters": {
            "subscription": request.GET.get("subscription", ""),
            "status": request.GET.get("status", ""),
        },
        "statuses": Delivery.Status.values,
        "subscriptions": selectors.subscriptions(),
        "error": error,
        "active_nav": "events",
    }
    return render(request, "events/deliveries.html", context, status=400 if error else 200)


@login_required
@require_safe
def delivery_detail(request, pk: int):
    d = access.access_delivery(request.user, pk)
    context = {"d": d, "attempts": list(d.attempt_log.all()), "active_nav": "events"}
    return render(request, "events/delivery_detail.html", context)


@login_required
@require_POST
def delivery_replay(request, pk: int):
    access.require_staff(request.user)
    try:
        copy = outbox.replay(actor=request.user.get_username(), delivery_id=pk)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("events-delivery", pk=pk)
    messages.success(request, f"Replayed as delivery {copy.delivery_id}; a worker sends it now.")
    return redirect("events-delivery", pk=copy.pk)
