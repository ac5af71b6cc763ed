"""Pages of the registry mirror. Short functions: access helper → selector → render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from common.errors import InvalidInput
from common.pages import paginate
from mirror import access, gateway, selectors, slots
from mirror.models import ModelVersion, RegisteredModel, SyncRun
from mirror.sync import start_sync


@login_required
@require_safe
def dashboard(request):
    context = {
        "model_count": RegisteredModel.objects.live().count(),
        # The sync's denormalised count per live model: one row per model, not a scan of every version.
        "version_count": RegisteredModel.objects.live().aggregate(n=Sum("version_count"))["n"] or 0,
        "aliased_models": RegisteredModel.objects.live()
        .exclude(aliases={})
        .order_by("-last_updated_timestamp")[:10],
        "recent_versions": ModelVersion.objects.live()
        .filter(model__deleted_at__isnull=True)
        .select_related("model")
        .order_by("-creation_timestamp")[:10],
        "recent_syncs": selectors.sync_runs()[:5],
        "identity_changes": selectors.open_identity_changes(),
        "slots": slots.fill(request, "dashboard", user=request.user),
    }
    return render(request, "registry_ui/dashboard.html", context)


@login_required
@require_safe
def model_list(request):
    try:
        filters = selectors.ModelFilters.parse(request.GET)
    except InvalidInput as exc:
        return render(
            request, "registry_ui/model_list.html", {"error": str(exc), "page_obj": None}, status=400
        )
    page_obj = paginate(request, selectors.model_list(filters))
    context = {
        "page_obj": page_obj,
        "filters": filters,
        "alias_names": selectors.alias_names(),
        "sorts": [
            ("name", "Name A–Z"),
            ("-name", "Name Z–A"),
            ("-updated", "Recently updated"),
            ("updated", "Least recently updated"),
            ("-versions", "Most versions"),
            ("versions", "Fewest versions"),
        ],
    }
    return render(request, "registry_ui/model_list.html", context)


@login_required
@require_safe
def model_detail(request, name: str):
    model = access.access_model(request.user, name)
    page_obj = paginate(request, selectors.version_list(model))
    versions = selectors.with_identical(page_obj.object_list)
    rows = [(mv, selectors.primary_metric_value(mv, model)) for mv in versions]
    context = {
        "model": model,
        "page_obj": page_obj,
        "rows": rows,
        "slots": slots.fill(
            request, "model.banner", "model_detail.versions", model=model, mv=None, rows=rows
        ),
    }
    return render(request, "registry_ui/model_detail.html", context)


@login_required
@require_safe
def version_detail(request, name: str, version: int):
    mv = selectors.with_identical([access.access_version(request.user, name, version)])[0]
    run = mv.source_run
    context = {
        "model": mv.model,
        "mv": mv,
        "run": run,
        "metrics": sorted((run.metrics if run else {}).items()),
        "params": sorted((run.params if run else {}).items()),
        "run_tags": sorted((run.tags if run else {}).items()),
        "version_tags": sorted(mv.tags.items()),
        "signature": mv.signature,
        "mlflow_url": gateway.version_ui_url(mv.model.name, mv.version),
        "identity_changes": selectors.open_identity_changes(version=mv),
        "slots": slots.fill(
            request, "model.banner", "version_detail.side", "version_detail.card", model=mv.model, mv=mv
        ),
    }
    return render(request, "registry_ui/version_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def sync_status(request):
    if request.method == "POST":
        access.require_staff(request.user)
        run = start_sync(kind=SyncRun.Kind.FULL, requested_by=request.user.get_username())
        messages.success(request, f"Full sync #{run.pk} queued.")
        return redirect("sync-status")
    runs = paginate(request, selectors.sync_runs(), per_page=settings.SYNC_RUNS_PAGE_SIZE)
    context = {
        "page_obj": runs,
        "deliveries": selectors.webhook_deliveries()[:20],
        "reconcile_interval": settings.RECONCILE_INTERVAL_SECONDS,
        "sweep_interval": settings.RECONCILE_FULL_SWEEP_SECONDS,
        "running": SyncRun.objects.filter(
            status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
        ).exists(),
    }
    template = "registry_ui/_sync_runs.html" if request.htmx else "registry_ui/sync_status.html"
    return render(request, template, context)


@require_safe
def healthz(request):
    return JsonResponse({"ok": True})
