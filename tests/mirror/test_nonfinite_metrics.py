"""MLflow accepts NaN and ±Infinity metrics; JSON and PostgreSQL's jsonb cannot hold them. One rule, at the
gateway: a value that is not a finite number becomes None — null in the mirror and in every JSON answer,
"NaN" on the pages — so no page or API answer fails on such a run and the metric itself stays listed."""

from __future__ import annotations

import math
import uuid

import pytest

from mirror import gateway, mlflow_data
from mirror.models import MetricHistory, SyncRun
from mirror.sync import execute_sync


# --- the gateway's conversion (pure: MLflow's REST answer is faked) -------------------------------
def test_gateway_metric_history_maps_non_finite_values_to_none(monkeypatch):
    answer = {
        "metrics": [
            {"key": "loss", "value": 0.5, "step": "0", "timestamp": "1700000000000"},
            {"key": "loss", "value": "NaN", "step": "1", "timestamp": "1700000000001"},
            {"key": "loss", "value": "Infinity", "step": "2", "timestamp": "1700000000002"},
            {"key": "loss", "value": "-Infinity", "step": "3", "timestamp": "1700000000003"},
        ]
    }
    monkeypatch.setattr(gateway, "_call", lambda endpoint, method="GET", **kwargs: answer)
    points = gateway.metric_history("r1", "loss")
    assert [(p.step, p.value) for p in points] == [(0, 0.5), (1, None), (2, None), (3, None)]


def test_gateway_run_metrics_map_non_finite_values_to_none():
    run = mlflow_data.parse_run(
        {
            "info": {"run_id": "r1", "experiment_id": "0"},
            "data": {
                "metrics": [
                    {"key": "nan", "value": "NaN"},
                    {"key": "inf", "value": "Infinity"},
                    {"key": "ninf", "value": "-Infinity"},
                    {"key": "ok", "value": 1.25},
                ]
            },
        }
    )
    assert run.metrics == {"nan": None, "inf": None, "ninf": None, "ok": 1.25}


# --- end to end against a real `mlflow server` on PostgreSQL --------------------------------------
# MLflow's SQL store (the fixture's) keeps NaN but stores ±Infinity as ±the largest float; a file store or
# a REST answer gives "Infinity", which the gateway maps to None like NaN (the unit tests above).
SQL_INF = 1.7976931348623157e308


@pytest.fixture
def nonfinite_model(mlflow_uri, mlflow_client):
    """Two versions: v1's run logged NaN and ±Infinity (latest values and a history), v2's +Infinity."""
    name = f"nonfinite-{uuid.uuid4().hex[:8]}"
    experiment = mlflow_client.create_experiment(name)
    mlflow_client.create_registered_model(name)
    first = mlflow_client.create_run(experiment).info.run_id
    for step, value in enumerate([0.9, math.nan, 0.5, math.nan]):
        mlflow_client.log_metric(first, "loss", value, step=step)
    mlflow_client.log_metric(first, "nan_metric", math.nan)
    mlflow_client.log_metric(first, "inf_metric", -math.inf)
    mlflow_client.log_metric(first, "acc", 0.75)
    second = mlflow_client.create_run(experiment).info.run_id
    mlflow_client.log_metric(second, "inf_metric", math.inf)
    mlflow_client.log_metric(second, "nan_metric", 0.25)
    for run_id in (first, second):
        mlflow_client.set_terminated(run_id)
        mlflow_client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    sync = execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk)
    assert sync.status == "succeeded", sync.error
    return name


@pytest.mark.mlflow
@pytest.mark.django_db
def test_non_finite_metrics_from_mlflow_are_null_in_the_api_and_nan_on_the_pages(
    nonfinite_model, api, client_user
):
    name = nonfinite_model
    detail = api.get(f"/api/v1/models/{name}/versions/1/")
    assert detail.status_code == 200, detail.content
    assert detail.json()["run"]["metrics"] == {
        "loss": None,
        "nan_metric": None,
        "inf_metric": -SQL_INF,
        "acc": 0.75,
    }

    history = api.get(f"/api/v1/models/{name}/versions/1/metrics/loss/history")
    assert history.status_code == 200, history.content
    assert [(p["step"], p["value"]) for p in history.json()] == [(0, 0.9), (1, None), (2, 0.5), (3, None)]
    cached = MetricHistory.objects.get(key="loss", run__run_id=detail.json()["run_id"])
    assert [p["value"] for p in cached.points] == [0.9, None, 0.5, None]

    chart = api.get(f"/api/v1/compare/history?model={name}&versions=1&metric=loss")
    assert chart.status_code == 200, chart.content
    assert chart.json()["figure"]["data"][0]["y"] == [0.9, None, 0.5, None]

    compared = api.get(f"/api/v1/compare/?model={name}&versions=1,2")
    assert compared.status_code == 200, compared.content
    data = compared.json()
    assert data["metrics"]["nan_metric"] == {f"{name}:1": None, f"{name}:2": 0.25}
    assert data["metrics"]["inf_metric"] == {f"{name}:1": -SQL_INF, f"{name}:2": SQL_INF}
    assert data["deltas"]["inf_metric"][f"{name}:2"] is None  # SQL_INF - -SQL_INF overflows: no delta

    trend = api.get(f"/api/v1/models/{name}/trend?metric=nan_metric")
    assert trend.status_code == 200, trend.content
    assert [p["value"] for p in trend.json()] == [None, 0.25]

    assert client_user.get(f"/compare/?model={name}&versions=1,2").status_code == 200
    version_page = client_user.get(f"/models/{name}/versions/1/")
    assert version_page.status_code == 200
    assert version_page.content.decode().count(">NaN</span>") == 2  # loss and nan_metric stay listed


def test_model_card_shows_a_non_finite_metric_as_nan():
    from cards import generation

    text = generation._metrics({"run": {"metrics": {"loss": None, "acc": 0.5}}, "model": {}})
    assert "| loss | NaN |" in text and "| acc | 0.5 |" in text
