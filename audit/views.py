"""Pages of the audit log: the filtered chain and its verification."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from audit import access, selectors, verification
from audit.forms import AuditFilterForm
from common.pages import paginate


@login_required
@require_safe
def audit_list(request):
    access.require_reader(request.user)
    form = AuditFilterForm(request.GET)
    context = {
        "can_export": access.can_export(request.user),
        "active_nav": "audit",
        "actions": selectors.action_names(),
        "head": selectors.head(),
        "form": form,
    }
    if not form.is_valid():
        # Nothing is listed under filters that could not be read: a 400 that says why, not an empty chain.
        return render(request, "audit/list.html", context, status=400)
    filters = form.filters
    events = selectors.events(filters, newest_first=form.newest_first)
    context.update(filters=filters, newest_first=form.newest_first, page_obj=paginate(request, events))
    return render(request, "audit/list.html", context)


@login_required
@require_safe
def audit_verify(request):
    """The verification panel (an htmx partial; a full page without htmx)."""
    access.require_reader(request.user)
    started = timezone.now()
    result = verification.verify()
    context = {
        "result": result,
        "seconds": (timezone.now() - started).total_seconds(),
        "checked_at": timezone.now(),
    }
    template = "audit/_verify.html" if request.htmx else "audit/verify.html"
    return render(request, template, context | {"active_nav": "audit"})
