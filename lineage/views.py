"""The lineage pages: a version's graph, drawn by static/js/lineage.js with cytoscape.js from the JSON embedded
in the page (the API's graph, with each node's server-computed `position` and its page `links`). `?format=svg`
on each page downloads the same laid-out graph as an SVG drawn on the server (`lineage.svg`)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from common.errors import InvalidInput, NotFound
from lineage import datasets, layout, panels, selectors, svg
from lineage.api import parse_depth
from mirror import access

NODE_TYPES = (
    ("dataset", "Dataset"),
    ("code", "Code"),
    ("run", "Run"),
    ("logged_model", "Logged model"),
    ("model_version", "Version"),
    ("registered_model", "Model"),
    ("target", "Target"),
    ("promotion", "Promotion"),
    ("package", "Package"),
)


def _links(node: dict[str, Any], run_versions: dict[str, tuple[str, int]]) -> list[dict[str, str]]:
    """The pages a node links to; a run links to the comparison of the version registered from it."""
    a, kind = node["attrs"], node["type"]
    if kind == "model_version":
        return [{"label": "Version page", "href": reverse("version-detail", args=[a["model"], a["version"]])}]
    if kind == "registered_model":
        return [
            {"label": "Model page", "href": reverse("model-detail", args=[node["label"]])},
            {"label": "Every version's lineage", "href": reverse("lineage-model", args=[node["label"]])},
        ]
    if kind == "target":
        return [{"label": "Model page", "href": reverse("model-detail", args=[a["model"]])}]
    if kind == "package":
        return [{"label": "Package", "href": reverse("package-detail", args=[a["id"]])}]
    if kind == "promotion":
        return [{"label": "Promotion", "href": reverse("approvals:promotion-detail", args=[a["id"]])}]
    if kind == "dataset" and a.get("digest"):
        href = f"{reverse('lineage-dataset')}?{urlencode({'digest': a['digest']})}"
        return [{"label": "Dataset graph", "href": href}]
    if kind == "run" and a.get("run_id") in run_versions:
        model, version = run_versions[a["run_id"]]
        return [
            {
                "label": "Comparison",
                "href": f"{reverse('compare')}?{urlencode({'model': model, 'versions': version})}",
            }
        ]
    return []


def laid_out(data: dict[str, Any]) -> dict[str, Any]:
    """The graph as a page draws it: laid out, each node with its links."""
    data = layout.with_positions(data)
    run_versions = {
        n["attrs"]["run_id"]: (n["attrs"]["model"], n["attrs"]["version"])
        for n in data["nodes"]
        if n["type"] == "model_version" and n["attrs"].get("run_id")
    }
    for node in data["nodes"]:
        node["links"] = _links(node, run_versions)
    return data


def _page(request, template: str, context: dict[str, Any], query: dict[str, str]):
    """The page, or with `?format=svg` its graph as an SVG file."""
    if request.GET.get("format") == "svg":
        body = svg.render(context["graph"], title=context["graph_label"])
        response = HttpResponse(body, content_type="image/svg+xml; charset=utf-8")
        name = re.sub(r"[^\w.-]+", "-", context["filename"])  # a model name may hold any character
        response["Content-Disposition"] = content_disposition_header(True, f"{name}.svg")
        return response
    context["svg_href"] = "?" + urlencode({**query, "format": "svg"})
    return render(request, template, context)


def graph_json(mv, depth: int | None) -> dict[str, Any]:
    """The version's graph as its page draws it."""
    return laid_out(selectors.version_graph(mv, depth).as_dict())


@login_required
@require_GET
def version_lineage(request, name: str, version: int):
    mv = access.access_version(request.user, name, version)
    try:
        depth = parse_depth(request.GET.get("depth"))
    except InvalidInput:
        depth = None  # a page shows the full graph rather than an error for a mistyped depth
    data = graph_json(mv, depth)
    context = {
        "model": mv.model,
        "mv": mv,
        "graph": data,
        "node_types": NODE_TYPES,
        "filename": f"lineage-{mv.model.name}-v{mv.version}",
        "graph_label": f"Lineage graph of {mv.model.name} v{mv.version}",
    }
    query = {"depth": str(depth)} if depth is not None else {}
    return _page(request, "lineage/version.html", context, query)


@login_required
@require_GET
def version_compact(request, name: str, version: int):
    """The version page's compact graph, an SVG fragment its panel fetches (htmx) once the page is shown."""
    mv = access.access_version(request.user, name, version)
    # Safe: lineage.svg escapes every text it draws (labels come from MLflow tags anyone may write).
    return HttpResponse(panels.compact_svg(mv), content_type="text/html; charset=utf-8")


@login_required
@require_GET
def model_lineage(request, name: str):
    model = access.access_model(request.user, name)
    context = {
        "model": model,
        "graph": laid_out(datasets.model_graph(model)),
        "node_types": NODE_TYPES,
        "filename": f"lineage-{model.name}",
        "graph_label": f"Lineage graph of every version of {model.name}",
    }
    return _page(request, "lineage/model.html", context, {})


@login_required
@require_GET
def dataset_lineage(request):
    digest = (request.GET.get("digest") or "").strip()
    if not digest:
        raise Http404("Name a dataset digest: ?digest=...")
    try:
        data, found = datasets.dataset_graph(digest)
    except NotFound as exc:
        raise Http404(str(exc)) from None
    context = {
        "digest": digest,
        "impact": found,
        "graph": laid_out(data),
        "node_types": NODE_TYPES,
        "filename": f"lineage-dataset-{digest[:16]}",
        "graph_label": f"Lineage graph downstream of dataset {digest}",
    }
    return _page(request, "lineage/dataset.html", context, {"digest": digest})
