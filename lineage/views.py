"""The lineage pages: a version's graph, drawn by static/js/lineage.js with cytoscape.js from the JSON embedded
in the page (the API's graph, with each node's server-computed `position` and its page `links`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from common.errors import InvalidInput
from lineage import layout, selectors
from lineage.api import parse_depth
from mirror import access

NODE_TYPES = (
    ("dataset", "Dataset"),
    ("code", "Code"),
    ("run", "Run"),
    ("model_version", "Version"),
    ("registered_model", "Model"),
    ("target", "Target"),
    ("promotion", "Promotion"),
)


def _links(node: dict[str, Any], page_model: str, page_version: int) -> list[dict[str, str]]:
    a, kind = node["attrs"], node["type"]
    if kind == "model_version":
        return [{"label": "Version page", "href": reverse("version-detail", args=[a["model"], a["version"]])}]
    if kind == "registered_model":
        return [{"label": "Model page", "href": reverse("model-detail", args=[node["label"]])}]
    if kind == "target":
        return [{"label": "Model page", "href": reverse("model-detail", args=[a["model"]])}]
    if kind == "promotion":
        return [{"label": "Promotion", "href": reverse("approvals:promotion-detail", args=[a["id"]])}]
    if kind == "run" and a.get("mirrored"):
        query = urlencode({"model": page_model, "versions": page_version})
        return [{"label": "Comparison", "href": f"{reverse('compare')}?{query}"}]
    return []


def graph_json(mv, depth: int | None) -> dict[str, Any]:
    """The version's graph as the page draws it: laid out, each node with its links."""
    data = layout.with_positions(selectors.version_graph(mv, depth).as_dict())
    for node in data["nodes"]:
        node["links"] = _links(node, mv.model.name, mv.version)
    return data


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
    }
    return render(request, "lineage/version.html", context)
