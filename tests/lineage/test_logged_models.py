"""MLflow 3 logged models: mirrored through the one upsert, read by the gateway in batches, and drawn between the
run that logged them and the version registered from them (run → logged_as → logged model → registered_as →
version); a version registered MLflow 2 style keeps its run → version edge. Graph size is clamped and said."""

from __future__ import annotations

import pytest

from mirror import gateway, mlflow_data
from mirror.models import LoggedModel, ModelVersion
from mirror.sync import apply_snapshot
from packager.models import PackageJob
from tests.factories import mlflow_logged_model, mlflow_model, mlflow_run, mlflow_version, snapshot

pytestmark = pytest.mark.django_db

URL = "/api/v1/lineage/churn/1/"
TRAIN = {
    "name": "train",
    "digest": "dtrain",
    "source_type": "s3",
    "source": "s3://b/train",
    "context": "training",
}


def seed_logged(*, versions=1, logged=True):
    """`versions` versions of churn, each registered from its run's logged model `m-<v>` (or from the run's
    artifacts when `logged` is False); each logged model's test metric names the dataset `test`/`dtest`."""
    runs, rows, models = {}, [], []
    for v in range(1, versions + 1):
        run_id = f"run{v}"
        runs[run_id] = mlflow_run(run_id, datasets=[TRAIN])
        rows.append(mlflow_version("churn", v, run_id=run_id, model_id=f"m-{v}" if logged else ""))
        metrics = [("test_f1", 0.8, "test", "dtest"), ("val_loss", 0.3, "", "")]
        models.append(mlflow_logged_model(f"m-{v}", run_id, params={"C": "0.5"}, metrics=metrics))
    return apply_snapshot(
        snapshot([mlflow_model("churn")], rows, runs, logged_models=models if logged else ())
    )


def shape(body):
    return {(e["source"], e["target"], e["type"]) for e in body["edges"]}


def test_a_sync_mirrors_logged_models_and_the_version_model_id_once():
    first = seed_logged(versions=2)
    row = LoggedModel.objects.get(model_id="m-1")
    assert (row.source_run_id, row.params) == ("run1", {"C": "0.5"})
    assert row.metrics[0] == {"key": "test_f1", "value": 0.8, "step": 0, "dataset_name": "test",
                              "dataset_digest": "dtest", "run_id": "run1"}  # fmt: skip
    assert ModelVersion.objects.get(version=2).logged_model_id == "m-2"
    assert first.created == 1 + 2 + 2 + 2  # model, runs, logged models, versions
    again = seed_logged(versions=2)
    assert (again.created, again.updated) == (0, 0)


def test_the_gateway_reads_logged_models_in_batches_not_one_call_each(monkeypatch, settings):
    settings.MLFLOW_RUN_BATCH = 2
    calls = []

    def fake_call(endpoint, method="GET", **kwargs):
        calls.append((endpoint, kwargs.get("json", {}).get("filter", "")))
        ids = kwargs["json"]["filter"].split("(")[1].rstrip(")").replace("'", "").split(",")
        return {"models": [{"info": {"model_id": i, "source_run_id": f"r-{i}"}, "data": {}} for i in ids]}

    monkeypatch.setattr(gateway, "_call", fake_call)
    found = gateway.get_logged_models(["a", "b", "c", "", "a"], experiments=["0"])
    assert sorted(found) == ["a", "b", "c"] and found["c"].source_run_id == "r-c"
    assert calls == [
        ("/api/2.0/mlflow/logged-models/search", "model_id IN ('a','b')"),
        ("/api/2.0/mlflow/logged-models/search", "model_id IN ('c')"),
    ]


@pytest.mark.parametrize(
    "raw, model_id",
    [
        ({"source": "models:/m-0a1b"}, "m-0a1b"),  # MLflow 3 OSS: the id only in the source
        ({"source": "models:/churn/3"}, ""),  # a registered model's URI, not a logged model
        ({"source": "runs:/r1/model"}, ""),  # MLflow 2 style
        ({"source": "models:/m-0a1b", "model_id": "m-ffff"}, "m-ffff"),  # a server that sends the field
    ],
)
def test_a_version_names_its_logged_model_by_model_id_or_by_its_source(raw, model_id):
    assert mlflow_data.parse_version({"name": "churn", "version": "1", **raw}, None).model_id == model_id


def test_a_version_graph_runs_through_its_logged_model(api):
    seed_logged()
    body = api.get(URL).json()
    edges = shape(body)
    assert ("run:run1", "logged_model:m-1", "logged_as") in edges
    assert ("logged_model:m-1", "model_version:churn/1", "registered_as") in edges
    assert ("run:run1", "model_version:churn/1", "registered_as") not in edges
    assert ("logged_model:m-1", "dataset:dtest", "evaluated_on") in edges
    node = next(n for n in body["nodes"] if n["id"] == "logged_model:m-1")
    assert node["attrs"]["params"] == {"C": "0.5"}
    assert {m["key"]: m["dataset_digest"] for m in node["attrs"]["metrics"]} == {
        "test_f1": "dtest",
        "val_loss": "",
    }


def test_a_version_registered_mlflow_2_style_keeps_its_run_to_version_edge(api):
    seed_logged(logged=False)
    body = api.get(URL).json()
    assert ("run:run1", "model_version:churn/1", "registered_as") in shape(body)
    assert not [n for n in body["nodes"] if n["type"] == "logged_model"]


def test_a_logged_model_missing_from_the_mirror_is_a_node_labelled_so(api):
    seed_logged()
    LoggedModel.objects.all().delete()
    node = next(n for n in api.get(URL).json()["nodes"] if n["type"] == "logged_model")
    assert node["label"] == "m-1 (not mirrored)"


def test_the_graph_with_a_logged_model_loads_in_a_bounded_number_of_queries(
    api, django_assert_max_num_queries
):
    seed_logged(versions=3)
    # access (1) + logged model (1) + parent levels (depth - 1) + holdings (1) + promotions (2) + packages (1)
    with django_assert_max_num_queries(1 + 1 + 5 + 1 + 2 + 1):
        assert api.get(URL).status_code == 200


def test_a_graph_over_the_node_limit_is_cut_and_says_so(api, settings):
    settings.LINEAGE_MAX_NODES = 3
    seed_logged()
    body = api.get(URL).json()
    assert len(body["nodes"]) == 3 and body["node_limit"] == 3 and body["truncated"] is True
    assert any("over the limit of 3" in note for note in body["notes"])
    ids = {n["id"] for n in body["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in body["edges"])


def test_a_model_graph_over_the_node_limit_is_cut_and_the_page_says_so(client, user, settings):
    settings.LINEAGE_MAX_NODES = 4
    seed_logged(versions=3)
    client.force_login(user)
    response = client.get("/models/churn/lineage/")
    assert response.status_code == 200
    assert "over the limit of 4 (LINEAGE_MAX_NODES)" in response.content.decode()


def test_a_version_built_into_a_package_is_packaged_as_it(api, user):
    seed_logged()
    mv = ModelVersion.objects.get(version=1)
    done = PackageJob.objects.create(version=mv, format="onnx", state=PackageJob.State.SUCCEEDED, sha256="ab" * 32,
                                     parity={"passed": True}, requested_by=user)  # fmt: skip
    PackageJob.objects.create(version=mv, format="joblib", state=PackageJob.State.FAILED, requested_by=user)
    body = api.get(URL).json()
    packages = [n for n in body["nodes"] if n["type"] == "package"]
    assert [(n["id"], n["label"], n["attrs"]["parity_passed"]) for n in packages] == [
        (f"package:{done.pk}", "onnx package abababab", True)
    ]
    assert ("model_version:churn/1", f"package:{done.pk}", "packaged_as") in shape(body)
