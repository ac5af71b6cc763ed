"""Reads of the mirror. Each returns querysets or plain data with a bounded number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from common.errors import InvalidInput
from common.jsonkeys import DictKeyText
from mirror.models import IdentityChange, ModelVersion, RegisteredModel, SyncRun, WebhookDelivery

MODEL_SORTS = {
    "name": "name",
    "-name": "-name",
    "updated": "last_updated_timestamp",
    "-updated": "-last_updated_timestamp",
    "versions": "version_count",
    "-versions": "-version_count",
}


@dataclass(frozen=True)
class ModelFilters:
    search: str = ""
    tag_key: str = ""
    tag_value: str | None = None
    alias: str = ""
    sort: str = "name"

    @classmethod
    def parse(cls, params) -> ModelFilters:
        """Parse query parameters; raises InvalidInput naming the bad value."""
        tag = (params.get("tag") or "").strip()
        tag_key, tag_value = "", None
        if tag:
            tag_key, sep, value = tag.partition(":")
            if not tag_key:
                raise InvalidInput(f"tag must be KEY or KEY:VALUE, got {tag!r}.", field="tag")
            tag_value = value if sep else None
        sort = params.get("sort") or "name"
        if sort not in MODEL_SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(MODEL_SORTS)}; got {sort!r}.", field="sort")
        return cls(
            search=(params.get("search") or params.get("q") or "").strip()[:256],
            tag_key=tag_key[:256],
            tag_value=tag_value,
            alias=(params.get("alias") or "").strip()[:256],
            sort=sort,
        )


def model_list(filters: ModelFilters) -> QuerySet[RegisteredModel]:
    qs = RegisteredModel.objects.live()
    if filters.search:
        qs = qs.filter(name__icontains=filters.search)
    if filters.tag_key:
        qs = qs.filter(tags__has_key=filters.tag_key)
        if filters.tag_value is not None:
            qs = qs.annotate(_tag=DictKeyText(filters.tag_key, "tags")).filter(_tag=filters.tag_value)
    if filters.alias:
        qs = qs.filter(aliases__has_key=filters.alias)
    order = MODEL_SORTS[filters.sort]
    return qs.order_by(order, "name") if order.lstrip("-") != "name" else qs.order_by(order)


# A run's facts: large JSON (every metric, param and tag, `mlflow.log-model.history` among them) that a list
# showing only the versions' authors does not decode.
RUN_FACTS = ("source_run__metrics", "source_run__params", "source_run__tags", "source_run__datasets")


def version_list(model: RegisteredModel, *, with_run_facts: bool = True) -> QuerySet[ModelVersion]:
    qs = ModelVersion.objects.live().filter(model=model).select_related("source_run").order_by("-version")
    return qs if with_run_facts else qs.defer(*RUN_FACTS)


def of_model(versions: Iterable[ModelVersion], model: RegisteredModel) -> list[ModelVersion]:
    """Versions of `model` given the model row already loaded: no join, no copy of it decoded per version."""
    versions = list(versions)
    for mv in versions:
        mv.model = model
    return versions


def with_identical(versions: Iterable[ModelVersion]) -> list[ModelVersion]:
    """Set `identical_to` on each version: the numbers of the other live versions of its model with the same
    content hash (byte-identical artifacts), oldest first; [] when none or not hashed yet. One query."""
    versions = list(versions)
    hashed = [mv for mv in versions if mv.content_hash]
    groups: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    if hashed:
        rows = (
            ModelVersion.objects.live()
            .filter(
                model_id__in={mv.model_id for mv in hashed},
                content_hash__in={mv.content_hash for mv in hashed},
            )
            .order_by("version")
            .values_list("model_id", "content_hash", "pk", "version")
        )
        for model_id, content_hash, pk, number in rows:
            groups[(model_id, content_hash)].append((pk, number))
    for mv in versions:
        same = groups.get((mv.model_id, mv.content_hash or ""), [])
        mv.identical_to = [number for pk, number in same if pk != mv.pk]
    return versions


def alias_names() -> list[str]:
    names: set[str] = set()
    for aliases in RegisteredModel.objects.live().values_list("aliases", flat=True):
        names.update(aliases or {})
    return sorted(names)


def primary_metric_value(version: ModelVersion, model: RegisteredModel):
    if not model.primary_metric or version.source_run is None:
        return None
    return version.source_run.metrics.get(model.primary_metric)


def open_identity_changes(*, version: ModelVersion | None = None, limit: int = 20) -> list[IdentityChange]:
    """Author identities MLflow now reports differently from the first value (all, or this version's and
    its source run's), newest first, with the versions a changed run backs (three queries)."""
    qs = IdentityChange.objects.filter(resolved_at__isnull=True)
    if version is not None:
        run_filter = Q(run_id=version.source_run_id) if version.source_run_id else Q(pk__in=[])
        qs = qs.filter(Q(version=version) | run_filter)
    qs = qs.select_related("version__model", "run").prefetch_related(
        Prefetch("run__versions", queryset=ModelVersion.objects.live().select_related("model"))
    )
    return list(qs.order_by("-detected_at", "-id")[:limit])


def sync_runs() -> QuerySet[SyncRun]:
    return SyncRun.objects.order_by("-id")


def webhook_deliveries() -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.select_related("sync_run").order_by("-id")


def mirror_status() -> dict:
    """Footer and banner data: when the mirror last matched MLflow and whether that is too long ago."""
    # Every page asks, and a reconcile a minute leaves half a million runs a year: read the newest finished run
    # through the finished_at index (and, only after a failure, the newest success), never aggregate them all.
    finished = SyncRun.objects.filter(finished_at__isnull=False).order_by("-finished_at")
    latest = finished.values_list("status", "finished_at").first()
    last_status, last_success = (latest[0], latest[1]) if latest else (None, None)
    if last_status not in (None, SyncRun.Status.SUCCEEDED):
        last_status = SyncRun.Status.FAILED
        last_success = (
            finished.filter(status=SyncRun.Status.SUCCEEDED).values_list("finished_at", flat=True).first()
        )
    age = int((timezone.now() - last_success).total_seconds()) if last_success else None
    return {
        "last_success_at": last_success,
        "last_status": last_status,
        "age_seconds": age,
        "stale": age is None
        or age > settings.MIRROR_STALE_AFTER_SECONDS
        or last_status == SyncRun.Status.FAILED,
        "mlflow_url": settings.MLFLOW_UI_URL,
    }
