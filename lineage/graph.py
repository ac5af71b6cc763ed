"""The lineage graph of one model version, built from plain facts (no ORM, no I/O): typed nodes and named edges.

Node ids are `TYPE:KEY` (API.md, "Lineage"): `dataset:<digest>`, `run:<run_id>`, `code:<commit>`,
`logged_model:<model_id>`, `model_version:<name>/<version>`, `registered_model:<name>`, `target:<name>/<target>`,
`promotion:<id>`, `package:<id>`.

Edges read `source <type> target`:
  run `trained_on` / `evaluated_on` dataset   the dataset's context tag: `training` → trained_on; `eval`,
                                              `evaluation`, `validation`, `test`, `testing` → evaluated_on; any
                                              other or no context → trained_on (so an impact query never misses a
                                              dataset whose use MLflow did not record); the edge's `attrs.context`
                                              keeps the tag as logged.
  run `child_of` run                          the `mlflow.parentRunId` tag
  run `built_from` code                       `mlflow.source.git.commit` (else the source name, labelled so)
  run `logged_as` logged_model                the logged model's source run (MLflow 3)
  logged_model `registered_as` model_version  the version's `model_id`; without one (MLflow 2 style registration
                                              from a run's artifacts) the run is `registered_as` the version
  logged_model `evaluated_on` dataset         a metric of the logged model names the dataset (name and digest)
  model_version `version_of` registered_model an extension: the contract names no edge for it
  model_version `holds` / `held` target       the target's holdings now / before
  model_version `promoted_by` promotion       an applied promotion of the version (its signatures in attrs)
  model_version `packaged_as` package         a package built from the version (succeeded packaging job)

One dataset node per digest, whatever run logged it. A dataset entry without a digest is a node of its own,
labelled as such, as are entries without a source or with a source type MLflow does not define.

The graph is cut `depth` hops from the version (undirected), then to the `max_nodes` nodes nearest it (each cut
said in `notes`). A parent chain that loops ends at the run seen first: nothing is visited twice.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from lineage.facts import (
    COMMIT_TAG,
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_NODES,
    ENTRY_POINT_TAG,
    EVALUATION_CONTEXTS,
    KNOWN_SOURCE_TYPES,
    PARENT_RUN_TAG,
    REPO_TAG,
    SOURCE_NAME_TAG,
    SOURCE_TYPE_TAG,
    DatasetFact,
    HoldingFact,
    LoggedModelFact,
    PackageFact,
    PromotionFact,
    RunFact,
    SignatureFact,
    VersionFacts,
    logged_model_from_row,
    runs_from_rows,
)

# Re-exported: callers read the facts from the builder's module.
__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_NODES",
    "EVALUATION_CONTEXTS",
    "KNOWN_SOURCE_TYPES",
    "PARENT_RUN_TAG",
    "COMMIT_TAG",
    "REPO_TAG",
    "SOURCE_NAME_TAG",
    "SOURCE_TYPE_TAG",
    "ENTRY_POINT_TAG",
    "DatasetFact",
    "RunFact",
    "SignatureFact",
    "PromotionFact",
    "PackageFact",
    "HoldingFact",
    "LoggedModelFact",
    "VersionFacts",
    "runs_from_rows",
    "logged_model_from_row",
]


# --- graph out ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    id: str
    type: str
    label: str
    attrs: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "label": self.label, "attrs": self.attrs}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    type: str
    attrs: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "type": self.type, "attrs": self.attrs}


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[Edge]
    depth: int  # the depth applied
    truncated: bool  # nodes lay beyond `depth`, or beyond the node limit
    notes: list[str]
    node_limit: int = DEFAULT_MAX_NODES

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodes": [n.as_dict() for n in self.nodes],
            "edges": [e.as_dict() for e in self.edges],
            "depth": self.depth,
            "truncated": self.truncated,
            "notes": list(self.notes),
            "node_limit": self.node_limit,
        }


def clamp_depth(requested: int | None, max_depth: int) -> tuple[int, list[str]]:
    """The depth to apply, and the sentence saying so when the request was clamped."""
    limit = max(1, max_depth)
    if requested is None:
        return limit, []
    if requested < 1:
        return 1, [f"Depth {requested} was raised to 1."]
    if requested > limit:
        return limit, [f"Depth {requested} was clamped to the limit of {limit}."]
    return requested, []


# --- building -------------------------------------------------------------------------------------------------
def version_id(model: str, version: int) -> str:
    return f"model_version:{model}/{version}"


def dataset_id(run_id: str, index: int, ds: DatasetFact) -> str:
    return f"dataset:{ds.digest}" if ds.digest else f"dataset:no-digest/{run_id}/{index}"


def dataset_edge_type(context: str) -> str:
    return "evaluated_on" if context.strip().lower() in EVALUATION_CONTEXTS else "trained_on"


class _Builder:
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: dict[tuple[str, str, str], Edge] = {}

    def node(self, id: str, type: str, label: str, /, **attrs: Any) -> str:
        if id not in self.nodes:
            self.nodes[id] = Node(id, type, label, attrs)
        return id

    def edge(self, source: str, target: str, type: str, /, **attrs: Any) -> None:
        self.edges.setdefault((source, target, type), Edge(source, target, type, attrs))


def _dataset_node(b: _Builder, run_id: str, index: int, ds: DatasetFact) -> str:
    problems = [
        problem
        for problem, missing in (
            ("no digest", not ds.digest),
            ("no source", not ds.source),
            ("unknown source type", ds.source_type.lower() not in KNOWN_SOURCE_TYPES),
        )
        if missing
    ]
    label = ds.name or (ds.digest[:12] if ds.digest else "dataset")
    if problems:
        label += f" ({', '.join(problems)})"
    return b.node(
        dataset_id(run_id, index, ds),
        "dataset",
        label,
        name=ds.name,
        digest=ds.digest,
        source_type=ds.source_type,
        source=ds.source,
        malformed=problems,
    )


def _run_nodes(b: _Builder, facts: VersionFacts, run_id: str) -> None:
    """The source run, its datasets and code, and its parent chain (each run once, whatever loops)."""
    seen: set[str] = set()
    while run_id and run_id not in seen:
        seen.add(run_id)
        run = facts.runs.get(run_id) or RunFact(run_id, mirrored=False)
        label = run.name or run_id
        b.node(
            f"run:{run_id}",
            "run",
            label if run.mirrored else f"{label} (not mirrored)",
            run_id=run_id,
            name=run.name,
            status=run.status,
            mirrored=run.mirrored,
        )
        for index, ds in enumerate(run.datasets):
            node = _dataset_node(b, run_id, index, ds)
            b.edge(f"run:{run_id}", node, dataset_edge_type(ds.context), context=ds.context)
        code = _code_node(b, run)
        if code:
            b.edge(f"run:{run_id}", code, "built_from")
        parent = run.parent_run_id
        if parent:  # its node is made by the next turn (or was made already, when the chain loops)
            b.edge(f"run:{run_id}", f"run:{parent}", "child_of")
        run_id = parent


def _code_node(b: _Builder, run: RunFact) -> str:
    commit = str(run.tags.get(COMMIT_TAG) or "").strip()
    source_name = str(run.tags.get(SOURCE_NAME_TAG) or "").strip()
    if not commit and not source_name:
        return ""
    key = commit or source_name
    return b.node(
        f"code:{key}",
        "code",
        commit[:12] if commit else f"{source_name} (no commit)",
        commit=commit,
        repository=str(run.tags.get(REPO_TAG) or ""),
        source_name=source_name,
        source_type=str(run.tags.get(SOURCE_TYPE_TAG) or ""),
        entry_point=str(run.tags.get(ENTRY_POINT_TAG) or ""),
    )


def _governance_nodes(b: _Builder, facts: VersionFacts, root: str) -> None:
    for h in facts.holdings:
        target = b.node(
            f"target:{facts.model}/{h.target}", "target", h.target, model=facts.model, name=h.target
        )
        b.edge(
            root,
            target,
            "holds" if h.held_to is None else "held",
            held_from=h.held_from,
            held_to=h.held_to,
            source=h.source,
            promotion=h.promotion_id,
        )
    for p in facts.promotions:
        node = b.node(
            f"promotion:{p.id}",
            "promotion",
            f"#{p.id} {p.kind} → {p.target}",
            id=p.id,
            kind=p.kind,
            target=p.target,
            state=p.state,
            requested_by=p.requested_by,
            requested_at=p.requested_at,
            applied_at=p.applied_at,
            signatures=[
                {
                    "username": s.username,
                    "printed_name": s.printed_name,
                    "decision": s.decision,
                    "meaning": s.meaning,
                    "signed_at": s.signed_at,
                    "counts": s.counts,
                }
                for s in p.signatures
            ],
        )
        b.edge(root, node, "promoted_by")
    for pkg in facts.packages:
        label = f"{pkg.format} package" + (f" {pkg.sha256[:8]}" if pkg.sha256 else "")
        node = b.node(f"package:{pkg.id}", "package", label, id=pkg.id, format=pkg.format, sha256=pkg.sha256,
                      size_bytes=pkg.size_bytes, parity_passed=pkg.parity_passed, artifact_uri=pkg.artifact_uri)  # fmt: skip
        b.edge(root, node, "packaged_as")


def build(facts: VersionFacts, depth: int, max_nodes: int = DEFAULT_MAX_NODES) -> Graph:
    """The version's graph, cut `depth` (≥ 1) hops from the version node, then to `max_nodes` nodes."""
    b = _Builder()
    root = b.node(
        version_id(facts.model, facts.version),
        "model_version",
        f"{facts.model} v{facts.version}",
        model=facts.model,
        version=facts.version,
        stage=facts.stage,
        status=facts.status,
        aliases=list(facts.aliases),
        run_id=facts.run_id,
    )
    b.edge(root, b.node(f"registered_model:{facts.model}", "registered_model", facts.model), "version_of")
    lm = facts.logged_model
    source_run = (lm.source_run_id if lm is not None else "") or facts.run_id
    if source_run:
        _run_nodes(b, facts, source_run)
    if lm is not None:
        node = _logged_model_node(b, lm)
        b.edge(node, root, "registered_as")
        if source_run:
            b.edge(f"run:{source_run}", node, "logged_as")
    elif source_run:
        b.edge(f"run:{source_run}", root, "registered_as")
    _governance_nodes(b, facts, root)
    return _cut(b, root, max(1, depth), max(1, max_nodes))


def _logged_model_node(b: _Builder, lm: LoggedModelFact) -> str:
    """The logged model, and the datasets its metrics name (one node per digest, as a run's datasets)."""
    label = lm.name or lm.model_id
    node = b.node(
        f"logged_model:{lm.model_id}",
        "logged_model",
        label if lm.mirrored else f"{label} (not mirrored)",
        model_id=lm.model_id,
        name=lm.name,
        source_run_id=lm.source_run_id,
        status=lm.status,
        model_type=lm.model_type,
        params=dict(lm.params),
        metrics=[dict(m) for m in lm.metrics],
        mirrored=lm.mirrored,
    )
    on: dict[str, list[str]] = {}
    for m in lm.metrics:
        digest = str(m.get("dataset_digest") or "")
        if digest:
            on.setdefault(digest, []).append(str(m.get("key") or ""))
            name = str(m.get("dataset_name") or "")
            b.node(f"dataset:{digest}", "dataset", name or digest[:12], name=name, digest=digest,
                   source_type="", source="", malformed=[])  # fmt: skip
    for digest, keys in on.items():
        b.edge(node, f"dataset:{digest}", "evaluated_on", context="metrics", metrics=sorted(set(keys)))
    return node


def _cut(b: _Builder, root: str, depth: int, max_nodes: int) -> Graph:
    neighbours: dict[str, list[str]] = {}
    for s, t, _ in b.edges:
        neighbours.setdefault(s, []).append(t)
        neighbours.setdefault(t, []).append(s)
    distance = {root: 0}  # in the order reached: nearest first
    queue = deque([root])
    truncated = False
    while queue:
        current = queue.popleft()
        for other in neighbours.get(current, ()):
            if other in distance:
                continue
            if distance[current] >= depth:
                truncated = True
                continue
            distance[other] = distance[current] + 1
            queue.append(other)
    notes = [f"Nodes more than {depth} steps from the version are left out."] if truncated else []
    kept = set(list(distance)[:max_nodes])
    if len(distance) > max_nodes:
        truncated = True
        notes.append(size_note(len(distance), max_nodes, "the version"))
    nodes = [n for n in b.nodes.values() if n.id in kept]
    edges = [e for (s, t, _), e in b.edges.items() if s in kept and t in kept]
    return Graph(
        nodes=nodes, edges=edges, depth=depth, truncated=truncated, notes=notes, node_limit=max_nodes
    )


def size_note(total: int, limit: int, near: str) -> str:
    return (
        f"The graph has {total} nodes, over the limit of {limit} (LINEAGE_MAX_NODES): "
        f"only the {limit} nearest {near} are shown."
    )
