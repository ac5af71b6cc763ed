"""Lineage on the mirror's pages (`mirror.slots`), registered in lineage's AppConfig.ready(): the version page's
link to the version's lineage graph."""

from __future__ import annotations

from django.urls import reverse

from mirror.slots import Panel


def version_link(request, *, mv, **_) -> Panel | None:
    if mv is None:
        return None
    href = reverse("lineage-version", args=[mv.model.name, mv.version])
    return Panel("lineage/_version_link.html", {"lineage_href": href})
