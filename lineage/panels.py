"""Lineage on the mirror's pages (`mirror.slots`), registered in lineage's AppConfig.ready(): the version page's
link to the version's lineage graph, the model page's to every version's graph."""

from __future__ import annotations

from django.urls import reverse

from mirror.slots import Panel


def version_link(request, *, mv, **_) -> Panel | None:
    if mv is None:
        return None
    href = reverse("lineage-version", args=[mv.model.name, mv.version])
    return Panel("lineage/_version_link.html", {"lineage_href": href})


def model_link(request, *, model, mv=None, **_) -> Panel | None:
    """On the model page (not its versions' pages, which have their own link): every version's graph."""
    if mv is not None or model is None:
        return None
    return Panel("lineage/_model_link.html", {"lineage_href": reverse("lineage-model", args=[model.name])})
