"""Semantic version labels of the mirror's versions (the rule: mirror.semver), computed once a version's artifacts
are read, stored on ModelVersion.semver and set as the MLflow version tag `semver` through the outbox.

Where the compared facts come from:
- flavors and the signature's inputs: the version's MLmodel file (read with the artifacts);
- the model class: the MLmodel file does not name it (the sklearn flavor holds only the pickle's path and
  format), so it comes from the source run: the tag `estimator_class` (MLflow's scikit-learn autologging sets
  it, e.g. `sklearn.ensemble._forest.RandomForestClassifier`) or `model_class`, else the param `estimator`,
  `model_class` or `model_type` (how people logging by hand name it; the demo logs `estimator`); unknown
  otherwise, and then only the flavors stand for the architecture;
- the hyper-parameters: the source run's params, the class params above aside.

Labels go in version order: a version waits for its previous one (a live version whose artifacts are not read
yet); a version deleted before its artifacts were read is skipped. A label, once stored, never changes.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from mirror import hooks, outbox, semver
from mirror.models import ModelVersion

MODEL_CLASS_TAGS = ("estimator_class", "model_class")
MODEL_CLASS_PARAMS = ("estimator", "model_class", "model_type")
TAG = "semver"
BACKFILL_MODELS = 50  # models per sync whose older versions (read before labels existed) get their labels


def facts(mv: ModelVersion) -> semver.Facts:
    """What the label compares of a version (its artifacts must have been read)."""
    run = mv.source_run if mv.source_run_id else None
    tags = dict(run.tags or {}) if run is not None else {}
    params = dict(run.params or {}) if run is not None else None
    model_class = next((tags[k] for k in MODEL_CLASS_TAGS if tags.get(k)), None)
    if model_class is None and params:
        model_class = next((params[k] for k in MODEL_CLASS_PARAMS if params.get(k)), None)
    if params is not None:
        params = {k: str(v) for k, v in params.items() if k not in MODEL_CLASS_PARAMS}
    signature = mv.signature if isinstance(mv.signature, dict) else None
    inputs = signature.get("inputs") or [] if signature is not None else None
    return semver.Facts(
        content_hash=mv.content_hash or "",
        flavors=tuple(mv.flavors or ()),
        model_class=model_class,
        inputs=inputs,
        params=params,
    )


def label_model(model_id: int) -> list[int]:
    """Label the model's versions that can be labelled now, in version order; returns their ids."""
    pending = ModelVersion.objects.filter(model_id=model_id, semver__isnull=True)
    first = pending.order_by("version").values_list("version", flat=True).first()
    if first is None:
        return []
    labelled: list[int] = []
    with transaction.atomic():
        rows = (
            pending.select_for_update(of=("self",))
            .filter(version__gte=first)
            .select_related("model", "source_run")
            .order_by("version")
        )
        previous = (
            ModelVersion.objects.filter(model_id=model_id, semver__isnull=False, version__lt=first)
            .select_related("source_run")
            .order_by("-version")
            .first()
        )
        for mv in rows:
            if mv.semver is not None:
                continue  # labelled by another worker while this one waited for the lock
            if mv.artifacts_read_at is None or not mv.content_hash:
                if mv.deleted_at is not None:
                    continue  # deleted before it was read: it never will be
                break  # the next versions compare with this one: wait for its artifacts
            before = facts(previous) if previous is not None else None
            mv.semver = semver.label(facts(mv), before=before, before_label=previous and previous.semver)
            mv.save(update_fields=["semver"])
            if mv.deleted_at is None:
                outbox.enqueue_version_tag(
                    model_name=mv.model.name, version=mv.version, key=TAG, value=mv.semver
                )
            labelled.append(mv.pk)
            previous = mv
    return labelled


def label_versions(version_ids: Iterable[int]) -> list[int]:
    """Label what can be labelled in the models of these versions; returns the ids labelled."""
    model_ids = ModelVersion.objects.filter(pk__in=list(version_ids)).values_list("model_id", flat=True)
    labelled: list[int] = []
    for model_id in sorted(set(model_ids)):
        labelled += label_model(model_id)
    return labelled


def on_artifacts_read(*, version_ids, **_) -> list[int]:
    """after_artifacts_read hook (the mirror's own, subscribed first): label the versions just read. Versions
    that waited for them get labelled too; what waits on artifact facts (cards) is told about those."""
    requested = set(version_ids)
    labelled = label_versions(requested)
    waited = [pk for pk in labelled if pk not in requested]
    if waited:
        hooks.run_after_artifacts_read(version_ids=waited)
    return labelled


def backfill(**_) -> list[int]:
    """after_sync hook: versions read before labels existed (or whose label failed) get theirs."""
    model_ids = (
        ModelVersion.objects.filter(
            semver__isnull=True, artifacts_read_at__isnull=False, deleted_at__isnull=True
        )
        .order_by("model_id")
        .values_list("model_id", flat=True)
        .distinct()[:BACKFILL_MODELS]
    )
    labelled: list[int] = []
    for model_id in sorted(model_ids):
        labelled += label_model(model_id)
    return labelled
