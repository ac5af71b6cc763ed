"""The graph downstream of one dataset (by digest: every live version `impact` finds for it) and the graph of a
registered model (its live versions): each version's graph (lineage/graph.py) built from facts read in bulk and merged into one (nodes by id, edges by their ends
and type). Queries: impact's, then one each for the versions, their logged models, the runs, their parents and
the holdings, however many versions there are; the merged graph is cut to LINEAGE_MAX_NODES nodes (`make bench-lineage`: 100 versions, 523 nodes). Promotions are left out
(each version's own graph shows them)."""

from __future__ import annotations

from typing import Any

from approvals.models import TargetHolding
from lineage import graph, impact, selectors
from mirror.models import LoggedModel, ModelVersion, Run


def _holdings(mvs: list[ModelVersion]) -> dict[tuple[int, int], list[graph.HoldingFact]]:
    out: dict[tuple[int, int], list[graph.HoldingFact]] = {}
    rows = TargetHolding.objects.filter(model_id__in={mv.model_id for mv in mvs}).order_by("held_from", "id")
    for h in rows:
        fact = graph.HoldingFact(
            target=h.target,
            held_from=h.held_from.isoformat(),
            held_to=h.held_to.isoformat() if h.held_to else None,
            source=h.source,
            promotion_id=h.promotion_id,
        )
        out.setdefault((h.model_id, h.version), []).append(fact)
    return out


def dataset_graph(digest: str) -> tuple[dict[str, Any], impact.Impact]:
    """(the merged graph's JSON, the dataset's impact); NotFound when no run logged the digest."""
    found = impact.impact({"dataset_digest": digest})
    mvs = ModelVersion.objects.live().filter(run_id__in=found.runs, model__deleted_at__isnull=True)
    return merged_graph(list(mvs.select_related("model"))), found


def model_graph(model) -> dict[str, Any]:
    """The graphs of every live version of the registered model, merged."""
    return merged_graph(list(ModelVersion.objects.live().filter(model=model).select_related("model")))


def _logged_models(mvs: list[ModelVersion]) -> dict[str, graph.LoggedModelFact]:
    wanted = {mv.logged_model_id for mv in mvs if mv.logged_model_id}
    rows = LoggedModel.objects.filter(model_id__in=wanted).values_list(
        "model_id", *selectors.LOGGED_MODEL_FIELDS
    )
    found = {row[0]: row[1:] for row in rows} if wanted else {}
    return {m: graph.logged_model_from_row(m, found.get(m)) for m in wanted}


def _clamped(
    nodes: dict[str, dict[str, Any]], edges: dict[Any, dict[str, Any]], limit: int
) -> tuple[list, list, list[str]]:
    """The first `limit` nodes (in the order the versions' graphs brought them) and the edges between them."""
    if len(nodes) <= limit:
        return list(nodes.values()), list(edges.values()), []
    kept = dict(list(nodes.items())[:limit])
    out = [e for e in edges.values() if e["source"] in kept and e["target"] in kept]
    return list(kept.values()), out, [graph.size_note(len(nodes), limit, "the first versions")]


def merged_graph(mvs: list[ModelVersion]) -> dict[str, Any]:
    """The versions' graphs merged into one JSON graph (runs, their parents and holdings read in bulk)."""
    logged = _logged_models(mvs)
    run_ids = {mv.run_id for mv in mvs if mv.run_id} | {lm.source_run_id for lm in logged.values()} - {""}
    rows = list(Run.objects.filter(run_id__in=run_ids).values_list(*selectors.RUN_FIELDS))
    parents = {str((r[3] or {}).get(graph.PARENT_RUN_TAG) or "") for r in rows} - {"", *run_ids}
    rows += Run.objects.filter(run_id__in=parents).values_list(*selectors.RUN_FIELDS)
    runs = graph.runs_from_rows(rows)
    holdings = _holdings(mvs)
    depth = selectors.max_depth()
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    truncated = False
    for mv in sorted(mvs, key=lambda m: (m.model.name, m.version)):
        facts = graph.VersionFacts(
            model=mv.model.name,
            version=mv.version,
            run_id=mv.run_id,
            stage=mv.stage,
            status=mv.status,
            aliases=tuple(str(a) for a in mv.aliases or ()),
            runs=runs,
            logged_model=logged.get(mv.logged_model_id),
            holdings=tuple(holdings.get((mv.model_id, mv.version), ())),
        )
        part = graph.build(facts, depth)
        truncated = truncated or part.truncated
        for n in part.nodes:
            nodes.setdefault(n.id, n.as_dict())
        for e in part.edges:
            edges.setdefault((e.source, e.target, e.type), e.as_dict())
    notes = [f"Nodes more than {depth} steps from a version are left out."] if truncated else []
    limit = selectors.max_nodes()
    node_list, edge_list, size_notes = _clamped(nodes, edges, limit)
    return {"nodes": node_list, "edges": edge_list, "depth": depth, "truncated": truncated or bool(size_notes),
            "notes": notes + size_notes, "node_limit": limit}  # fmt: skip
