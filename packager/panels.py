"""The "Packages" panel of the version page (mirror.slots "version_detail.card"), registered in packager's
AppConfig.ready(): the newest job of each format with its progress or results, and the form to start one."""

from __future__ import annotations

from mirror.slots import Panel
from packager import access, selectors, services


def panel_context(request, mv) -> dict:
    found = selectors.jobs_of_version(mv)
    latest = selectors.latest_by_format(found)
    user = getattr(request, "user", None)
    return {
        "mv": mv,
        "model": mv.model,
        "latest": [latest[fmt] for fmt in services.SUPPORTED_FORMATS if fmt in latest],
        "formats": services.SUPPORTED_FORMATS,
        "can_package": bool(user) and access.can_package(user) and mv.deleted_at is None,
        "polling": any(not job.is_finished for job in latest.values()),
    }


def version_packages(request, *, mv, **_) -> Panel | None:
    if mv is None:
        return None
    return Panel("packager/_version_panel.html", {"packages": panel_context(request, mv)})
