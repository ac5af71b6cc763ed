"""Writes to the mirror that are not the sync's upsert."""

from django.db import transaction
from django.utils import timezone

from common.errors import MlflowUnavailable
from mirror import gateway, hooks
from mirror.models import MetricHistory, ModelVersion


def read_version_artifacts(*, model_version_id: int) -> ModelVersion | None:
    """Fill in a version's immutable artifact facts (content hash, signature, flavors) once."""
    version = ModelVersion.objects.select_related("model").filter(pk=model_version_id).first()
    if version is None or version.artifacts_read_at is not None:
        return version
    facts = gateway.read_version_artifacts(version.model.name, version.version)
    with transaction.atomic():
        written = ModelVersion.objects.filter(pk=model_version_id, artifacts_read_at__isnull=True).update(
            content_hash=facts.content_hash,
            signature=facts.signature,
            flavors=facts.flavors,
            input_example=facts.input_example,
            artifacts_read_at=timezone.now(),
        )
    version.refresh_from_db()
    if written:
        hooks.run_after_artifacts_read(version_ids=[version.pk])
    return version


def metric_history(*, run, key: str, max_age_seconds: int = 60):
    """A run's metric history from the mirror, fetched from MLflow when missing or (for a run still
    running) older than max_age_seconds. Raises MlflowUnavailable only when nothing is cached."""
    cached = MetricHistory.objects.filter(run=run, key=key).first()
    finished = run.status in ("FINISHED", "FAILED", "KILLED")
    if cached and (finished or (timezone.now() - cached.fetched_at).total_seconds() < max_age_seconds):
        return cached.points
    try:
        points = [
            {"step": p.step, "timestamp": p.timestamp, "value": p.value}
            for p in gateway.metric_history(run.run_id, key)
        ]
    except MlflowUnavailable:
        if cached:
            return cached.points
        raise
    MetricHistory.objects.update_or_create(
        run=run, key=key, defaults={"points": points, "fetched_at": timezone.now()}
    )
    return points
