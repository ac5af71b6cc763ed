"""Comparison pages: the chooser, the side-by-side table with charts, its CSV, and the holders fragment."""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.html import format_html
from django.views.decorators.http import require_safe

from common.errors import InvalidInput
from compare import holders, refs, selectors, tables
from mirror import access
from mirror.models import ModelVersion, RegisteredModel

CHOOSER_MODELS = 500
CHOOSER_VERSIONS = 200


def _chooser(request, error: str | None = None, status: int = 200):
    name = (request.GET.get("model") or "").strip()
    model = RegisteredModel.objects.live().filter(name=name).first() if name else None
    versions = []
    if model is not None:
        versions = list(
            ModelVersion.objects.live()
            .filter(model=model)
            .select_related("source_run")
            .order_by("-version")[:CHOOSER_VERSIONS]
        )
    context = {
        "error": error,
        "models": RegisteredModel.objects.live()
        .order_by("name")
        .values_list("name", flat=True)[:CHOOSER_MODELS],
        "chosen": model,
        "unknown_model": name if name and model is None else None,
        "versions": [
            (
                mv,
                (
                    mv.source_run.metrics.get(model.primary_metric)
                    if mv.source_run and model.primary_metric
                    else None
                ),
            )
            for mv in versions
        ],
        "refs": request.GET.get("refs", ""),
        "max_versions": refs.MAX_VERSIONS,
    }
    return render(request, "compare/chooser.html", context, status=status)


def _render_metric_cells(table: dict) -> None:
    """Each metric cell's HTML, built here: 20 versions x 100 metrics is 2,000 cells, and a template
    loop over them costs more than the rest of the page."""
    for row in table["metrics"]:
        for cell in row["cells"]:
            if not cell["text"]:
                cell["html"] = format_html('<td class="{}"></td>', cell["cls"])
            elif cell["delta_text"]:
                cell["html"] = format_html(
                    '<td class="{}"><span title="{}">{}</span><br><span class="{}">Δ {}</span></td>',
                    cell["cls"],
                    cell["value"],
                    cell["text"],
                    cell["delta_cls"],
                    cell["delta_text"],
                )
            else:
                cell["html"] = format_html(
                    '<td class="{}"><span title="{}">{}</span></td>', cell["cls"], cell["value"], cell["text"]
                )


def _selection_query(versions) -> str:
    return urlencode({"refs": ",".join(refs.label(mv) for mv in versions)})


@login_required
@require_safe
def compare(request):
    if not refs.has_selection(request.GET):
        return _chooser(request)
    try:
        versions = refs.selection(request.GET)
        data = selectors.comparison(versions, scatter_x=request.GET.get("x"), scatter_y=request.GET.get("y"))
    except InvalidInput as exc:
        return _chooser(request, error=str(exc), status=400)
    table = tables.table_rows(data)
    _render_metric_cells(table)
    query = _selection_query(versions)
    models = list({mv.model.name: mv.model for mv in versions}.values())
    metric_names = list(data["metrics"])
    default_metric = next((m for m in data["primary_metrics"] if m in data["metrics"]), None) or (
        metric_names[0] if metric_names else None
    )
    context = {
        "data": data,
        "table": table,
        "versions": versions,
        "models": models,
        "query": query,
        "only_diff": request.GET.get("only_diff") in ("1", "on", "true"),
        "metric_names": metric_names,
        "default_metric": default_metric,
        "scatter_keys": _scatter_keys(data, request),
        "charts_json": data["charts"],
        "active_nav": "compare",
    }
    return render(request, "compare/compare.html", context)


def _scatter_keys(data: dict, request) -> tuple[str | None, str | None]:
    names = list(data["metrics"])
    if len(names) < 2:
        return None, None
    x = request.GET.get("x") if request.GET.get("x") in data["metrics"] else names[0]
    y = request.GET.get("y") if request.GET.get("y") in data["metrics"] else next(k for k in names if k != x)
    return x, y


@login_required
@require_safe
def compare_csv(request):
    try:
        versions = refs.selection(request.GET)
    except InvalidInput as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    data = selectors.comparison(versions)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="comparison.csv"'
    writer = csv.writer(response)
    for row in tables.csv_rows(data):
        writer.writerow(row)
    return response


@login_required
@require_safe
def target_holders(request, name: str, version: int):
    """Buttons "compare with the holder of <target>" for the policy's targets (htmx fragment)."""
    mv = access.access_version(request.user, name, version)
    return render(
        request,
        "compare/_target_holders.html",
        {
            "mv": mv,
            "model": mv.model,
            "holders": holders.target_holders(mv, holders.targets_for(mv.model.name)),
        },
    )
