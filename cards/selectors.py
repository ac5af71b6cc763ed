"""Reads for model cards, with bounded queries."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

from django.db.models import OuterRef, Subquery

from cards.models import CardRevision
from mirror.models import MetricHistory, ModelVersion

log = logging.getLogger(__name__)


def _iso(dt) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def latest_revision(mv: ModelVersion) -> CardRevision | None:
    return CardRevision.objects.filter(version=mv).order_by("-revision").first()


class _HtmlCache:
    """Process-local LRU of rendered HTML by revision id, bounded in bytes. Revisions are immutable, so an
    entry never goes stale; the row keeps the durable copy (rendered once, when the revision was saved)."""

    def __init__(self, budget_bytes: int):
        self.budget = budget_bytes
        self.size = 0
        self.items: OrderedDict[int, str] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, pk: int) -> str | None:
        with self.lock:
            html = self.items.get(pk)
            if html is not None:
                self.items.move_to_end(pk)
            return html

    def put(self, pk: int, html: str) -> None:
        cost = len(html)
        if cost > self.budget // 4:
            return
        with self.lock:
            if pk in self.items:
                return
            self.items[pk] = html
            self.size += cost
            while self.size > self.budget:
                _, old = self.items.popitem(last=False)
                self.size -= len(old)


_html_cache = _HtmlCache(64 * 1024 * 1024)


def revision_html(pk: int) -> str:
    """A revision's sanitised HTML: from the process cache, else its row (then cached)."""
    html = _html_cache.get(pk)
    if html is None:
        html = CardRevision.objects.filter(pk=pk).values_list("html", flat=True).get()
        _html_cache.put(pk, html)
    return html


def latest_revision_meta(mv: ModelVersion) -> CardRevision | None:
    """The latest revision without its (large) markdown and html columns."""
    return CardRevision.objects.filter(version=mv).order_by("-revision").defer("markdown", "html").first()


def latest_html(mv: ModelVersion) -> str | None:
    """The latest revision's rendered HTML: one small indexed query, then the per-revision cache."""
    pk = CardRevision.objects.filter(version=mv).order_by("-revision").values_list("pk", flat=True).first()
    return revision_html(pk) if pk is not None else None


def get_revision(mv: ModelVersion, revision: int) -> CardRevision | None:
    return CardRevision.objects.filter(version=mv, revision=revision).first()


def revisions(mv: ModelVersion) -> list[CardRevision]:
    """Every revision, newest first, without the (large) markdown and html columns."""
    return list(
        CardRevision.objects.filter(version=mv)
        .order_by("-revision")
        .only("revision", "author", "comment", "created_at", "score", "content_hash", "version_id")
    )


def card_status(mv: ModelVersion) -> dict:
    """For the `model_card_complete` gate and the version page: the latest revision's number, completeness
    score, missing items and content hash (sha256 of its markdown, "sha256:<hex>"); Nones when no card yet."""
    row = (
        CardRevision.objects.filter(version=mv)
        .order_by("-revision")
        .values("revision", "score", "missing", "content_hash")
        .first()
    )
    if row is None:
        return {"revision": None, "score": None, "missing": [], "content_hash": None}
    return dict(row)


def scores_for_versions(versions: Iterable) -> dict[int, dict]:
    """{version pk: {revision, score, missing}} for the latest revision of each — ONE query (version lists)."""
    ids = [v.pk if hasattr(v, "pk") else int(v) for v in versions]
    if not ids:
        return {}
    newest = (
        CardRevision.objects.filter(version_id=OuterRef("version_id"))
        .order_by("-revision")
        .values("revision")
    )
    rows = CardRevision.objects.filter(version_id__in=ids, revision=Subquery(newest[:1])).values(
        "version_id", "revision", "score", "missing"
    )
    return {r["version_id"]: r for r in rows}


def previous_card(mv: ModelVersion) -> CardRevision | None:
    """The latest revision of the newest earlier version of the same model that has a card."""
    return (
        CardRevision.objects.filter(version__model_id=mv.model_id, version__version__lt=mv.version)
        .order_by("-version__version", "-revision")
        .select_related("version")
        .first()
    )


def version_facts(mv: ModelVersion) -> dict:
    """Plain data about a version from the mirror: what the card generator and the exports need."""
    model = mv.model
    run = mv.source_run
    facts: dict = {
        "model": {
            "name": model.name,
            "description": model.description,
            "tags": dict(model.tags or {}),
            "aliases": dict(model.aliases or {}),
            "primary_metric": model.primary_metric,
            "primary_metric_goal": model.primary_metric_goal,
        },
        "version": {
            "version": mv.version,
            "creator": mv.author or None,  # one rule on every page: ModelVersion.authors
            "creation_timestamp": _iso(mv.creation_timestamp),
            "status": mv.status,
            "stage": mv.stage,
            "aliases": list(mv.aliases or []),
            "tags": dict(mv.tags or {}),
            "description": mv.description,
            "source": mv.source,
            "run_id": mv.run_id,
            "flavors": list(mv.flavors or []),
            "content_hash": mv.content_hash,
            "semver": mv.semver,  # MAJOR.MINOR.PATCH+<hash8>, None until computed (mirror.versioning)
            "signature": mv.signature,
            # False until the artifact facts (signature, flavors, content hash) are read: unknown, not absent.
            "artifacts_read": mv.artifacts_read_at is not None,
        },
        "run": None,
        "histories": {},
    }
    if run is not None:
        facts["run"] = {
            "run_id": run.run_id,
            "run_name": run.run_name,
            "experiment_id": run.experiment_id,
            "status": run.status,
            "user": ", ".join(run.authors) or None,  # first-seen identities, not the mutable tag
            "start_time": _iso(run.start_time),
            "end_time": _iso(run.end_time),
            "metrics": dict(run.metrics or {}),
            "params": dict(run.params or {}),
            "tags": dict(run.tags or {}),
            "datasets": list(run.datasets or []),
        }
        facts["histories"] = dict(MetricHistory.objects.filter(run=run).values_list("key", "points"))
    return facts


# Governance sits above the cards: it registers where sign-offs come from (approvals' AppConfig.ready), so the
# cards never import it. None: no governance installed in this deployment, and the exports carry no sign-offs.
_signoffs_source: Callable[[ModelVersion], list[dict]] | None = None


def provide_signoffs(fn: Callable[[ModelVersion], list[dict]]) -> Callable[[ModelVersion], list[dict]]:
    """Register fn(mv) -> every promotion of the version with its signatures and gate results."""
    global _signoffs_source
    _signoffs_source = fn
    return fn


def signoffs_and_gates(mv: ModelVersion) -> list[dict]:
    """THE one place exports get a version's sign-offs and gate results: every promotion of the version with
    its signatures and gate results, from the source governance registered (`provide_signoffs`)."""
    if _signoffs_source is None:
        log.warning("no sign-off source is registered; exports carry no sign-offs")
        return []
    return _signoffs_source(mv)


_lineage_image_source: Callable[[ModelVersion], str] | None = None


def provide_lineage_image(fn: Callable[[ModelVersion], str]) -> Callable[[ModelVersion], str]:
    """Register fn(mv) -> the version's lineage graph as an SVG document (lineage registers it)."""
    global _lineage_image_source
    _lineage_image_source = fn
    return fn


def lineage_image(mv: ModelVersion) -> str:
    """The version's lineage graph as SVG for exports ("" when no source is registered)."""
    return _lineage_image_source(mv) if _lineage_image_source is not None else ""
