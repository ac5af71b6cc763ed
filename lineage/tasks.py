"""Pushing a newly registered version's lineage to an OpenLineage endpoint (OPENLINEAGE_URL), in a worker."""

from __future__ import annotations

import logging

import requests
from celery import shared_task
from django.conf import settings

from lineage import openlineage
from mirror.models import ModelVersion

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10


def push_version(version_id: int) -> int:
    """POST each run event of the version to OPENLINEAGE_URL; the number sent (0 without a URL or version)."""
    url = (settings.OPENLINEAGE_URL or "").rstrip("/")
    mv = ModelVersion.objects.select_related("model", "source_run").filter(pk=version_id).first()
    if not url or mv is None:
        return 0
    events = openlineage.version_events(mv)
    for event in events:
        requests.post(f"{url}/api/v1/lineage", json=event, timeout=TIMEOUT_SECONDS).raise_for_status()
    return len(events)


@shared_task(
    name="lineage.tasks.push_openlineage_task",
    autoretry_for=(requests.RequestException,),
    retry_backoff=True,
    max_retries=5,
    acks_late=True,
)
def push_openlineage_task(version_id: int) -> int:
    return push_version(version_id)


def push_new_versions(*, result=None, **_) -> None:
    """after_sync hook: queue the push of the versions that just appeared in the mirror, when a URL is set."""
    if not settings.OPENLINEAGE_URL:
        return
    for version_id in sorted(getattr(result, "new_version_ids", None) or []):
        push_openlineage_task.delay(version_id)
