"""`GET /api/v1/lineage/{name}/{version}/`: the mirror's facts as a graph, in a bounded number of queries."""

import datetime

import pytest
from django.utils import timezone

from approvals.models import Approval, Promotion, TargetHolding
from mirror.models import ModelVersion
from mirror.sync import apply_snapshot
from tests.factories import PromotionFactory, UserFactory, mlflow_model, mlflow_run, mlflow_version, snapshot

pytestmark = pytest.mark.django_db

URL = "/api/v1/lineage/churn/1/"


def dataset(digest, context="training", **extra):
    return {"name": f"data-{digest}", "digest": digest, "source_type": "s3", "source": f"s3://b/{digest}",
            "context": context, "schema": "", "profile": "", **extra}  # fmt: skip


def seed(*, chain=1, datasets=2, name="churn", versions=1):
    """`versions` versions of `name`, each from its own run; the runs share their datasets (same digests) and
    descend from a chain of `chain` - 1 parent runs."""
    parents = [f"parent{i}" for i in range(1, chain)]
    runs = {
        p: mlflow_run(p, tags={"mlflow.parentRunId": parents[i + 1]} if i + 1 < len(parents) else {})
        for i, p in enumerate(parents)
    }
    version_rows = []
    for v in range(1, versions + 1):
        run_id = f"run{name}{v}"
        tags = {"mlflow.user": "alice", "mlflow.source.git.commit": "c0ffee" * 6 + "abcd",
                "mlflow.source.git.repoURL": "https://git.example/churn.git"}  # fmt: skip
        if parents:
            tags["mlflow.parentRunId"] = parents[0]
        contexts = ["training", "eval"]
        runs[run_id] = mlflow_run(
            run_id, tags=tags, datasets=[dataset(f"d{i}", contexts[i % 2]) for i in range(datasets)]
        )
        version_rows.append(mlflow_version(name, v, run_id=run_id))
    apply_snapshot(snapshot([mlflow_model(name)], version_rows, runs))
    return ModelVersion.objects.get(model__name=name, version=1)


def govern(mv):
    """An applied promotion of the version to production, with a signature, and its holdings."""
    now = timezone.now()
    promotion = PromotionFactory(version=mv, state=Promotion.State.APPLIED, applied_at=now)
    Approval.objects.create(
        promotion=promotion, reviewer=UserFactory(username="ann"), printed_name="Ann A.", decision="approve",
        signed_at=now,
    )  # fmt: skip
    TargetHolding.objects.create(
        model=mv.model, target="staging", version=mv.version, held_from=now - datetime.timedelta(days=1),
        held_to=now, source="observed",
    )  # fmt: skip
    TargetHolding.objects.create(
        model=mv.model, target="production", version=mv.version, held_from=now, promotion=promotion,
        source="promotion",
    )  # fmt: skip
    return promotion


def test_a_version_lineage_shows_data_run_code_model_targets_and_promotions(api):
    mv = seed(chain=2)
    promotion = govern(mv)
    body = api.get(URL).json()
    nodes = {n["id"]: n for n in body["nodes"]}
    commit = "c0ffee" * 6 + "abcd"
    assert set(nodes) == {
        "model_version:churn/1", "registered_model:churn", "run:runchurn1", "run:parent1", "dataset:d0",
        "dataset:d1", f"code:{commit}", "target:churn/production", "target:churn/staging",
        f"promotion:{promotion.pk}",
    }  # fmt: skip
    edges = {(e["source"], e["target"], e["type"]) for e in body["edges"]}
    assert edges == {
        ("model_version:churn/1", "registered_model:churn", "version_of"),
        ("run:runchurn1", "model_version:churn/1", "registered_as"),
        ("run:runchurn1", "dataset:d0", "trained_on"),
        ("run:runchurn1", "dataset:d1", "evaluated_on"),
        ("run:runchurn1", f"code:{commit}", "built_from"),
        ("run:runchurn1", "run:parent1", "child_of"),
        ("model_version:churn/1", "target:churn/production", "holds"),
        ("model_version:churn/1", "target:churn/staging", "held"),
        ("model_version:churn/1", f"promotion:{promotion.pk}", "promoted_by"),
    }
    assert nodes["run:parent1"]["attrs"]["mirrored"] is True
    assert nodes["dataset:d0"]["attrs"]["digest"] == "d0"
    signer = nodes[f"promotion:{promotion.pk}"]["attrs"]["signatures"][0]
    assert (signer["username"], signer["printed_name"]) == ("ann", "Ann A.")
    assert (body["depth"], body["truncated"], body["notes"]) == (6, False, [])


# access helper (1) + one query per parent level below the source run (depth - 1) + holdings (1) + promotions
# with their signatures (2) + packages (1): the bound depends on LINEAGE_MAX_DEPTH only, never on the runs or
# datasets.
MAX_QUERIES = 1 + (6 - 1) + 1 + 2 + 1


@pytest.mark.parametrize("chain, datasets, versions", [(1, 1, 1), (3, 5, 2), (12, 60, 6)])
def test_the_graph_loads_in_a_bounded_number_of_queries(
    api, django_assert_max_num_queries, chain, datasets, versions
):
    govern(seed(chain=chain, datasets=datasets, versions=versions))
    with django_assert_max_num_queries(MAX_QUERIES):
        body = api.get(URL).json()
    assert len([n for n in body["nodes"] if n["type"] == "dataset"]) == datasets
    assert body["truncated"] is (chain > 5)


def test_a_depth_over_the_limit_is_clamped_and_said(api, settings):
    settings.LINEAGE_MAX_DEPTH = 2
    seed(chain=4)
    body = api.get(URL + "?depth=50").json()
    assert body["depth"] == 2
    assert body["truncated"] is True
    assert "clamped" in body["notes"][0]
    assert {n["id"] for n in body["nodes"] if n["type"] == "run"} == {"run:runchurn1", "run:parent1"}


def test_a_smaller_depth_cuts_the_graph(api):
    seed(chain=3)
    body = api.get(URL + "?depth=1").json()
    assert {n["type"] for n in body["nodes"]} == {"model_version", "registered_model", "run"}
    assert body["truncated"] is True


def test_datasets_are_shared_by_digest_across_versions_graphs(api):
    seed(versions=2, datasets=1)
    one = {n["id"] for n in api.get(URL).json()["nodes"] if n["type"] == "dataset"}
    two = {n["id"] for n in api.get("/api/v1/lineage/churn/2/").json()["nodes"] if n["type"] == "dataset"}
    assert one == two == {"dataset:d0"}


def test_a_parent_cycle_in_the_mirror_terminates(api):
    runs = {
        "runchurn1": mlflow_run("runchurn1", tags={"mlflow.parentRunId": "pa"}),
        "pa": mlflow_run("pa", tags={"mlflow.parentRunId": "pb"}),
        "pb": mlflow_run("pb", tags={"mlflow.parentRunId": "runchurn1"}),
    }
    apply_snapshot(snapshot([mlflow_model("churn")], [mlflow_version("churn", 1)], runs))
    body = api.get(URL).json()
    assert {n["id"] for n in body["nodes"] if n["type"] == "run"} == {"run:runchurn1", "run:pa", "run:pb"}
    assert ("run:pb", "run:runchurn1", "child_of") in {
        (e["source"], e["target"], e["type"]) for e in body["edges"]
    }


def test_malformed_mirrored_datasets_are_nodes_labelled_as_such(api):
    runs = {
        "runchurn1": mlflow_run(
            "runchurn1", datasets=[{"name": "raw", "digest": "", "source": "", "source_type": ""}]
        )
    }
    apply_snapshot(snapshot([mlflow_model("churn")], [mlflow_version("churn", 1)], runs))
    [node] = [n for n in api.get(URL).json()["nodes"] if n["type"] == "dataset"]
    assert node["id"] == "dataset:no-digest/runchurn1/0"
    assert node["label"] == "raw (no digest, no source, unknown source type)"


@pytest.mark.parametrize(
    "url, status, words",
    [
        ("/api/v1/lineage/nope/1/", 404, "No version 1 of model 'nope'"),
        ("/api/v1/lineage/churn/9/", 404, "No version 9 of model 'churn'"),
        (URL + "?depth=abc", 400, "depth must be a whole number"),
        (URL + "?depth=0", 400, "depth must be 1 or more"),
        (URL + "?depth=-3", 400, "depth must be 1 or more"),
        (URL + "?depth=1.5", 400, "depth must be a whole number"),
    ],
)
def test_bad_input_is_a_sentence_never_a_5xx(api, url, status, words):
    seed()
    response = api.get(url)
    assert response.status_code == status
    assert words in response.json()["detail"]


def test_a_deleted_version_is_404(api):
    seed(versions=2)
    apply_snapshot(snapshot([mlflow_model("churn")], [mlflow_version("churn", 2)]))
    assert api.get(URL).status_code == 404


def test_anonymous_is_401(client):
    assert client.get(URL).status_code == 401
