"""The pure graph builder: facts in, exactly these nodes and edges out (no database)."""

import pytest

from lineage.graph import (
    DatasetFact,
    HoldingFact,
    PromotionFact,
    RunFact,
    SignatureFact,
    VersionFacts,
    build,
    clamp_depth,
    runs_from_rows,
)

MV = "model_version:churn/3"


def run(run_id, *datasets, parent="", **tags):
    tags = {k.replace("_", "."): v for k, v in tags.items()}
    if parent:
        tags["mlflow.parentRunId"] = parent
    return RunFact(run_id, name=f"name-{run_id}", status="FINISHED", tags=tags, datasets=tuple(datasets))


def ds(digest, context="training", source="s3://bucket/data.csv", source_type="s3", name="data"):
    return DatasetFact(name=name, digest=digest, source_type=source_type, source=source, context=context)


def facts(*runs, run_id="r1", holdings=(), promotions=()):
    return VersionFacts(
        model="churn",
        version=3,
        run_id=run_id,
        stage="None",
        status="READY",
        aliases=("champion",),
        runs={r.run_id: r for r in runs},
        holdings=tuple(holdings),
        promotions=tuple(promotions),
    )


def shape(graph):
    return (
        {n.id for n in graph.nodes},
        {(e.source, e.target, e.type) for e in graph.edges},
    )


def test_a_small_registry_gives_exactly_the_expected_nodes_and_edges():
    r1 = run(
        "r1",
        ds("d1", "training"),
        ds("d2", "eval"),
        parent="p0",
        mlflow_source_git_commit="abc123",
        mlflow_source_git_repoURL="https://git.example/churn.git",
    )
    promotion = PromotionFact(
        id=7,
        kind="promote",
        target="production",
        state="applied",
        requested_by="rita",
        requested_at="2026-11-30T10:00:00+00:00",
        applied_at="2026-11-30T11:00:00+00:00",
        signatures=(SignatureFact("ann", "Ann A.", "approve", "approval", "2026-11-30T10:30:00+00:00"),),
    )
    holdings = [
        HoldingFact("staging", "2026-11-29T00:00:00+00:00", "2026-11-30T11:00:00+00:00", "observed"),
        HoldingFact("production", "2026-11-30T11:00:00+00:00", None, "promotion", 7),
    ]
    graph = build(facts(r1, run("p0"), holdings=holdings, promotions=[promotion]), depth=6)
    assert shape(graph) == (
        {
            MV,
            "registered_model:churn",
            "run:r1",
            "run:p0",
            "dataset:d1",
            "dataset:d2",
            "code:abc123",
            "target:churn/production",
            "target:churn/staging",
            "promotion:7",
        },
        {
            (MV, "registered_model:churn", "version_of"),
            ("run:r1", MV, "registered_as"),
            ("run:r1", "dataset:d1", "trained_on"),
            ("run:r1", "dataset:d2", "evaluated_on"),
            ("run:r1", "code:abc123", "built_from"),
            ("run:r1", "run:p0", "child_of"),
            (MV, "target:churn/production", "holds"),
            (MV, "target:churn/staging", "held"),
            (MV, "promotion:7", "promoted_by"),
        },
    )
    assert (graph.depth, graph.truncated, graph.notes) == (6, False, [])
    nodes = {n.id: n for n in graph.nodes}
    assert nodes["code:abc123"].attrs["repository"] == "https://git.example/churn.git"
    assert nodes["promotion:7"].attrs["signatures"][0]["username"] == "ann"
    assert nodes["dataset:d1"].attrs["malformed"] == []
    assert nodes[MV].attrs["aliases"] == ["champion"]
    body = graph.as_dict()
    assert set(body) == {"nodes", "edges", "depth", "truncated", "notes", "node_limit"}
    assert len({n["id"] for n in body["nodes"]}) == len(body["nodes"])


@pytest.mark.parametrize(
    "context, edge",
    [
        ("training", "trained_on"),
        ("eval", "evaluated_on"),
        ("Evaluation", "evaluated_on"),
        ("validation", "evaluated_on"),
        ("test", "evaluated_on"),
        ("", "trained_on"),  # no context recorded: counted as training, so impact never misses it
        ("tuning", "trained_on"),
    ],
)
def test_the_dataset_context_names_the_edge(context, edge):
    graph = build(facts(run("r1", ds("d1", context))), depth=6)
    [dataset_edge] = [e for e in graph.edges if e.target == "dataset:d1"]
    assert (dataset_edge.type, dataset_edge.attrs["context"]) == (edge, context)


@pytest.mark.parametrize(
    "runs, expected_dataset_edges",
    [
        # one run logs the same digest for training and for evaluation
        (
            [run("r1", ds("d1", "training"), ds("d1", "eval"))],
            {("run:r1", "trained_on"), ("run:r1", "evaluated_on")},
        ),
        # a run and its parent log the same digest under different names and sources
        (
            [run("r1", ds("d1", name="a"), parent="r2"), run("r2", ds("d1", name="b", source="/tmp/b.csv"))],
            {("run:r1", "trained_on"), ("run:r2", "trained_on")},
        ),
    ],
)
def test_one_dataset_node_per_digest_whatever_run_logged_it(runs, expected_dataset_edges):
    graph = build(facts(*runs), depth=6)
    assert [n.id for n in graph.nodes if n.type == "dataset"] == ["dataset:d1"]
    assert {(e.source, e.type) for e in graph.edges if e.target == "dataset:d1"} == expected_dataset_edges


CHAIN = [run("r1", parent="r2"), run("r2", parent="r3"), run("r3", parent="r4"), run("r4")]


@pytest.mark.parametrize(
    "depth, runs, truncated",
    [
        (6, ["r1", "r2", "r3", "r4"], False),
        (4, ["r1", "r2", "r3", "r4"], False),  # r4 is 4 hops from the version
        (3, ["r1", "r2", "r3"], True),
        (1, ["r1"], True),
    ],
)
def test_the_parent_run_chain_is_followed_up_to_the_depth(depth, runs, truncated):
    graph = build(facts(*CHAIN), depth=depth)
    assert [n.id for n in graph.nodes if n.type == "run"] == [f"run:{r}" for r in runs]
    child_of = [(e.source, e.target) for e in graph.edges if e.type == "child_of"]
    assert child_of == [(f"run:{a}", f"run:{b}") for a, b in zip(runs, runs[1:], strict=False)]
    assert graph.truncated is truncated
    assert bool(graph.notes) is truncated


@pytest.mark.parametrize(
    "runs, expected_edges",
    [
        ([run("r1", parent="r1")], {("run:r1", "run:r1")}),
        ([run("r1", parent="r2"), run("r2", parent="r1")], {("run:r1", "run:r2"), ("run:r2", "run:r1")}),
        (
            [run("r1", parent="r2"), run("r2", parent="r3"), run("r3", parent="r2")],
            {("run:r1", "run:r2"), ("run:r2", "run:r3"), ("run:r3", "run:r2")},
        ),
    ],
)
def test_a_parent_cycle_terminates_with_each_run_once(runs, expected_edges):
    graph = build(facts(*runs), depth=50)
    assert sorted(n.id for n in graph.nodes if n.type == "run") == sorted({f"run:{r.run_id}" for r in runs})
    assert {(e.source, e.target) for e in graph.edges if e.type == "child_of"} == expected_edges


def test_a_parent_outside_the_mirror_is_a_node_labelled_so():
    graph = build(facts(run("r1", parent="gone")), depth=6)
    node = {n.id: n for n in graph.nodes}["run:gone"]
    assert (node.label, node.attrs["mirrored"]) == ("gone (not mirrored)", False)


@pytest.mark.parametrize(
    "entry, node_id, malformed",
    [
        ({}, "dataset:no-digest/r1/0", ["no digest", "no source", "unknown source type"]),
        ({"name": "x", "source": "s3://b/x", "source_type": "s3"}, "dataset:no-digest/r1/0", ["no digest"]),
        ({"digest": "d9", "source_type": "s3"}, "dataset:d9", ["no source"]),
        (
            {"digest": "d9", "source": "weird://x", "source_type": "weird"},
            "dataset:d9",
            ["unknown source type"],
        ),
        (
            {"digest": 42, "source": None},
            "dataset:no-digest/r1/0",
            ["no digest", "no source", "unknown source type"],
        ),
        ("not a mapping", "dataset:no-digest/r1/0", ["no digest", "no source", "unknown source type"]),
    ],
)
def test_malformed_dataset_entries_are_nodes_labelled_as_such(entry, node_id, malformed):
    runs = runs_from_rows([("r1", "n", "FINISHED", {}, [entry])])
    graph = build(facts(*runs.values()), depth=6)
    node = {n.id: n for n in graph.nodes}[node_id]
    assert node.attrs["malformed"] == malformed
    assert all(problem in node.label for problem in malformed)
    assert ("run:r1", node_id, "trained_on") in {(e.source, e.target, e.type) for e in graph.edges}


def test_datasets_without_digest_stay_distinct():
    graph = build(facts(run("r1", ds(""), ds(""))), depth=6)
    assert sorted(n.id for n in graph.nodes if n.type == "dataset") == [
        "dataset:no-digest/r1/0",
        "dataset:no-digest/r1/1",
    ]


@pytest.mark.parametrize(
    "tags, code_id, label",
    [
        ({"mlflow.source.git.commit": "f" * 40}, "code:" + "f" * 40, "f" * 12),
        ({"mlflow.source.name": "train.py"}, "code:train.py", "train.py (no commit)"),
        ({}, None, None),
    ],
)
def test_the_code_node_comes_from_the_source_tags(tags, code_id, label):
    graph = build(facts(RunFact("r1", tags=tags)), depth=6)
    codes = [n for n in graph.nodes if n.type == "code"]
    assert [(n.id, n.label) for n in codes] == ([(code_id, label)] if code_id else [])


def test_a_version_without_a_run_has_its_model_and_governance_only():
    graph = build(facts(run_id="", holdings=[HoldingFact("production", "t", None)]), depth=6)
    assert shape(graph)[0] == {MV, "registered_model:churn", "target:churn/production"}


@pytest.mark.parametrize(
    "requested, limit, depth, noted",
    [(None, 6, 6, False), (3, 6, 3, False), (6, 6, 6, False), (7, 6, 6, True), (10**9, 6, 6, True),
     (0, 6, 1, True), (-5, 6, 1, True), (None, 0, 1, False)],
)  # fmt: skip
def test_the_depth_is_clamped_and_the_answer_says_so(requested, limit, depth, noted):
    applied, notes = clamp_depth(requested, limit)
    assert (applied, bool(notes)) == (depth, noted)
