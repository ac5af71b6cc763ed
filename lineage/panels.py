"""Lineage on the mirror's pages (`mirror.slots`), registered in lineage's AppConfig.ready(): the version page's
compact graph (drawn on the server as SVG, linking to the full graph; fetched by htmx once the page is shown, so
the version page does not wait for the graph's reads and layout), the model page's link to every version's graph."""

from __future__ import annotations

from django.urls import reverse

from lineage import layout, selectors, svg
from mirror.slots import Panel

# The compact graph: data → run → logged model → version → targets and promotions, at most this many nodes.
COMPACT_DEPTH = 3
COMPACT_NODES = 40


def compact_svg(mv) -> str:
    """The version's compact graph as an SVG document (every label escaped by `lineage.svg`)."""
    data = layout.with_positions(selectors.version_graph(mv, COMPACT_DEPTH, COMPACT_NODES).as_dict())
    return svg.render(data, title=f"Lineage of {mv.model.name} v{mv.version}", legend=True)


def version_link(request, *, mv, **_) -> Panel | None:
    if mv is None:
        return None
    args = [mv.model.name, mv.version]
    context = {
        "lineage_href": reverse("lineage-version", args=args),
        "compact_href": reverse("lineage-version-compact", args=args),
    }
    return Panel("lineage/_version_link.html", context)


def model_link(request, *, model, mv=None, **_) -> Panel | None:
    """On the model page (not its versions' pages, which have their own link): every version's graph."""
    if mv is not None or model is None:
        return None
    return Panel("lineage/_model_link.html", {"lineage_href": reverse("lineage-model", args=[model.name])})
