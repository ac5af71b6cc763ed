"""The facts one version's lineage reads, in a bounded number of queries: the version (from the mirror's access
helper), its logged model (one query, when it names one), one query per level of its run's parent chain (at most
the depth applied), its target holdings, its promotions with their signatures (two queries)
and its package jobs (one): the last two are the lists the version page's promotions and packaging panels show,
read once for both (memoised on the version object by approvals.selectors and packager.selectors)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from approvals import selectors as approvals_selectors
from approvals.models import Promotion, TargetHolding
from lineage import graph
from mirror.models import LoggedModel, ModelVersion, Run
from packager import selectors as packager_selectors
from packager.models import PackageJob

RUN_FIELDS = ("run_id", "run_name", "status", "tags", "datasets")
LOGGED_MODEL_FIELDS = ("name", "source_run_id", "status", "model_type", "params", "metrics")


def max_depth() -> int:
    return max(1, int(getattr(settings, "LINEAGE_MAX_DEPTH", graph.DEFAULT_MAX_DEPTH)))


def max_nodes() -> int:
    return max(1, int(getattr(settings, "LINEAGE_MAX_NODES", graph.DEFAULT_MAX_NODES)))


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def logged_model(mv: ModelVersion) -> graph.LoggedModelFact | None:
    """The logged model the version names (one query), None for a version registered MLflow 2 style."""
    if not mv.logged_model_id:
        return None
    row = LoggedModel.objects.filter(model_id=mv.logged_model_id).values_list(*LOGGED_MODEL_FIELDS).first()
    return graph.logged_model_from_row(mv.logged_model_id, row)


def _runs(mv: ModelVersion, depth: int, start: str = "") -> dict[str, graph.RunFact]:
    """The source run (`start`: the logged model's, else the version's) and its ancestors up to `depth` hops
    from the version (the run is one hop away, two behind a logged model)."""
    rows = []
    start = start or mv.run_id
    run = mv.source_run if mv.source_run_id and start == mv.run_id else None
    if run is not None:
        rows.append(tuple(getattr(run, f) for f in RUN_FIELDS))
        wanted = str((run.tags or {}).get(graph.PARENT_RUN_TAG) or "")
        level = 2
    else:
        wanted, level = start, 1
    seen = {r[0] for r in rows}
    while wanted and wanted not in seen and level <= depth:
        row = Run.objects.filter(run_id=wanted).values_list(*RUN_FIELDS).first()
        if row is None:
            break
        rows.append(row)
        seen.add(wanted)
        wanted = str((row[3] or {}).get(graph.PARENT_RUN_TAG) or "")
        level += 1
    return graph.runs_from_rows(rows)


def version_runs(mv: ModelVersion) -> dict[str, graph.RunFact]:
    """The version's source run and its parent chain, up to the maximum depth."""
    return _runs(mv, max_depth())


def _holdings(mv: ModelVersion) -> tuple[graph.HoldingFact, ...]:
    rows = TargetHolding.objects.filter(model_id=mv.model_id, version=mv.version).order_by("held_from", "id")
    return tuple(
        graph.HoldingFact(
            target=h.target,
            held_from=_iso(h.held_from) or "",
            held_to=_iso(h.held_to),
            source=h.source,
            promotion_id=h.promotion_id,
        )
        for h in rows
    )


def _promotions(mv: ModelVersion) -> tuple[graph.PromotionFact, ...]:
    # The version page's promotions panel reads the same list: one read for both (memoised on `mv`).
    applied = [
        p for p in approvals_selectors.promotions_for_version(mv) if p.state == Promotion.State.APPLIED
    ]
    rows = sorted(applied, key=lambda p: (p.applied_at is None, p.applied_at, p.pk))
    return tuple(
        graph.PromotionFact(
            id=p.pk,
            kind=p.kind,
            target=p.target,
            state=p.state,
            requested_by=p.requested_by.get_username(),
            requested_at=_iso(p.requested_at) or "",
            applied_at=_iso(p.applied_at),
            signatures=tuple(
                graph.SignatureFact(
                    username=a.reviewer.get_username(),
                    printed_name=a.printed_name,
                    decision=a.decision,
                    meaning=a.meaning,
                    signed_at=_iso(a.signed_at) or "",
                    counts=a.counts,
                )
                for a in p.approvals.all()
            ),
        )
        for p in rows
    )


def _packages(mv: ModelVersion) -> tuple[graph.PackageFact, ...]:
    # The version page's packaging panel reads the same list: one read for both (memoised on `mv`), unless
    # it is cut and a succeeded job may lie beyond it.
    found = packager_selectors.jobs_of_version(mv)
    if len(found) < packager_selectors.JOBS_OF_VERSION:
        rows = sorted((j for j in found if j.state == PackageJob.State.SUCCEEDED), key=lambda j: j.pk)
    else:
        rows = list(PackageJob.objects.filter(version=mv, state=PackageJob.State.SUCCEEDED).order_by("id"))
    return tuple(
        graph.PackageFact(
            id=p.pk,
            format=p.format,
            sha256=p.sha256,
            size_bytes=p.size_bytes,
            parity_passed=(p.parity or {}).get("passed") if isinstance(p.parity, dict) else None,
            artifact_uri=p.artifact_uri,
        )
        for p in rows
    )


def version_facts(mv: ModelVersion, depth: int) -> graph.VersionFacts:
    """`mv` as `mirror.access.access_version` returns it (model and source run loaded)."""
    lm = logged_model(mv)
    return graph.VersionFacts(
        model=mv.model.name,
        version=mv.version,
        run_id=mv.run_id,
        stage=mv.stage,
        status=mv.status,
        aliases=tuple(str(a) for a in mv.aliases or ()),
        runs=_runs(mv, depth, lm.source_run_id if lm is not None else ""),
        logged_model=lm,
        holdings=_holdings(mv),
        promotions=_promotions(mv),
        packages=_packages(mv),
    )


def version_graph(
    mv: ModelVersion, requested_depth: int | None, node_limit: int | None = None
) -> graph.Graph:
    """The version's graph (`node_limit`: fewer nodes than LINEAGE_MAX_NODES, for a compact view)."""
    depth, notes = graph.clamp_depth(requested_depth, max_depth())
    limit = min(max_nodes(), node_limit) if node_limit else max_nodes()
    result = graph.build(version_facts(mv, depth), depth, limit)
    result.notes[:0] = notes
    return result
