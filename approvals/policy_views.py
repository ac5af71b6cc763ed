"""The read-only policy page: the YAML as loaded and the effective targets (per model with ?model=NAME)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from approvals.policy import get_policy, reload_error
from approvals.policy_parse import PolicyError
from audit import access
from mirror.models import RegisteredModel


@login_required
@require_safe
def policy_page(request):
    access.require_reader(request.user)
    model_name = (request.GET.get("model") or "").strip()[:255]
    context = {"model_name": model_name, "active_nav": "policy"}
    try:
        policy = get_policy()
    except PolicyError as exc:  # changed on disk to something invalid since start-up
        return render(request, "audit/policy.html", context | {"error": str(exc)}, status=500)
    targets = policy.targets_for(model_name) if model_name else policy.targets
    context.update(
        policy=policy,
        reload_error=reload_error(),
        targets=list(targets.values()),
        overrides=policy.overrides_for(model_name) if model_name else policy.overrides,
        model_known=bool(model_name) and RegisteredModel.objects.live().filter(name=model_name).exists(),
        model_names=list(
            RegisteredModel.objects.live().order_by("name").values_list("name", flat=True)[:500]
        ),
    )
    return render(request, "audit/policy.html", context)
