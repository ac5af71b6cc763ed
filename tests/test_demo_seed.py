"""The demo seed puts real, fully described models into a real MLflow server, once."""

from __future__ import annotations

import pytest

from registry_ui.demo_seed import seed_demo

pytestmark = pytest.mark.mlflow

MODELS = {
    "credit-default-classifier": "test_f1",
    "diabetes-progression-regressor": "rmse",
    "wine-cultivar-classifier": "test_accuracy",
}


@pytest.fixture(scope="module")
def seeded(mlflow_server, seeded_mlflow):
    """The session's MLflow server, seeded once for the whole suite (seeding costs ~20 s)."""
    return mlflow_server, seeded_mlflow


@pytest.fixture(scope="module")
def client(seeded):
    from mlflow import MlflowClient

    server, _ = seeded
    return MlflowClient(tracking_uri=server.uri, registry_uri=server.uri)


def versions_of(client, name):
    return client.search_model_versions(f"name = '{name}'")


def test_seed_reports_what_it_created(seeded):
    _, summary = seeded
    assert summary["created"] is True
    assert set(summary["models"]) == set(MODELS)
    assert all(len(m["created"]) >= 3 for m in summary["models"].values())


def test_each_demo_model_has_at_least_three_versions_and_a_primary_metric(client):
    for name, metric in MODELS.items():
        model = client.get_registered_model(name)
        assert model.tags["primary_metric"] == metric
        assert model.tags["primary_metric_goal"] in {"maximize", "minimize"}
        assert model.description
        assert len(versions_of(client, name)) >= 3


def test_classifier_runs_have_test_metrics_histories_datasets_and_code_tags(client):
    versions = versions_of(client, "credit-default-classifier")
    authors = set()
    for version in versions:
        assert version.source and version.run_id
        assert version.description
        run = client.get_run(version.run_id)
        assert {"test_f1", "test_accuracy", "test_roc_auc"} <= set(run.data.metrics)
        assert len(client.get_metric_history(run.info.run_id, "val_loss")) > 1
        assert run.data.params
        contexts = set()
        for dataset_input in run.inputs.dataset_inputs:
            assert dataset_input.dataset.digest
            contexts |= {tag.value for tag in dataset_input.tags if tag.key == "mlflow.data.context"}
        assert {"training", "evaluation"} <= contexts
        commit = run.data.tags["mlflow.source.git.commit"]
        assert len(commit) == 40 and int(commit, 16) >= 0
        assert run.data.tags["mlflow.source.name"]
        authors.add(run.data.tags["mlflow.user"])
    assert authors == {"alice", "bob"}


def test_regressor_and_multiclass_runs_log_their_own_metrics(client):
    expected = {
        "diabetes-progression-regressor": {"rmse", "mae", "r2"},
        "wine-cultivar-classifier": {"test_accuracy", "test_f1_macro", "test_log_loss"},
    }
    for name, metrics in expected.items():
        for version in versions_of(client, name):
            assert metrics <= set(client.get_run(version.run_id).data.metrics)


def test_some_versions_carry_data_validated_and_some_do_not(client):
    tags = [v.tags for name in MODELS for v in versions_of(client, name)]
    validated = [t for t in tags if t.get("data_validated") == "true"]
    assert 0 < len(validated) < len(tags)
    assert all("data.rows" in t for t in tags)


def test_aliases_are_set(client):
    aliases = client.get_registered_model("credit-default-classifier").aliases
    assert set(aliases) == {"production", "staging"}
    assert int(aliases["production"]) < int(aliases["staging"])
    assert client.get_registered_model("diabetes-progression-regressor").aliases


def test_registered_models_have_a_signature(seeded, client):
    import mlflow

    server, _ = seeded
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(server.uri)
    try:
        for name in MODELS:
            version = versions_of(client, name)[0].version
            info = mlflow.models.get_model_info(f"models:/{name}/{version}")
            assert info.signature is not None
            assert info.signature.inputs.input_names()
    finally:
        mlflow.set_tracking_uri(previous)


def test_seeding_again_creates_nothing(seeded, client):
    server, _ = seeded
    before = {name: len(versions_of(client, name)) for name in MODELS}
    summary = seed_demo(server.uri, log=lambda line: None)
    assert summary["created"] is False
    assert {name: len(versions_of(client, name)) for name in MODELS} == before
