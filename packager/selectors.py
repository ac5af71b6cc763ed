"""Reads of packaging for the pages and the API (a bounded number of queries each)."""

from __future__ import annotations

from django.db.models import QuerySet

from mirror.models import ModelVersion
from packager.models import PackageJob


def jobs() -> QuerySet[PackageJob]:
    """Every job, newest first, with what a row shows (version, model, requester) loaded in the same query."""
    return PackageJob.objects.select_related("version__model", "requested_by").order_by("-id")


JOBS_OF_VERSION = 100
# Where jobs_of_version keeps its answer on the version object: the version page's packaging panel and its
# compact lineage graph read the same list once (a page's version object lives one request).
_JOBS_MEMO = "_package_jobs_of_version"


def jobs_of_version(mv: ModelVersion) -> list[PackageJob]:
    """A version's newest JOBS_OF_VERSION jobs, newest first (a small list: a few formats, a few retries), read
    once per version object."""
    found = getattr(mv, _JOBS_MEMO, None)
    if found is None:
        rows = PackageJob.objects.filter(version=mv).select_related("requested_by").order_by("-id")
        found = list(rows[:JOBS_OF_VERSION])
        for job in found:
            job.version = mv  # the page's own row (and its model): not joined again
        setattr(mv, _JOBS_MEMO, found)
    return list(found)


def latest_by_format(found: list[PackageJob]) -> dict[str, PackageJob]:
    """The newest job of each format in `found` (newest first)."""
    latest: dict[str, PackageJob] = {}
    for job in found:
        latest.setdefault(job.format, job)
    return latest


def filter_jobs(*, state: str = "", model: str = "") -> QuerySet[PackageJob]:
    qs = jobs()
    if state:
        qs = qs.filter(state=state)
    if model:
        qs = qs.filter(version__model__name=model)
    return qs
