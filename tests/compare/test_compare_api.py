"""The "Comparison" part of API.md: GET /api/v1/compare/ and GET /api/v1/models/{name}/trend."""

import datetime
import json

import pytest
from rest_framework.test import APIClient

from mirror.models import ModelVersion
from tests.factories import MetricHistoryFactory
from tests.support.compare import seed

pytestmark = pytest.mark.django_db


def test_compare_returns_the_contracts_shape_for_versions_of_one_model(api):
    seed(n=3, params=lambda v: {"C": str(v), "solver": "lbfgs"})
    response = api.get("/api/v1/compare/", {"model": "churn", "versions": "1,2,3"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"versions", "metrics", "params", "differing_params", "differing_tags", "charts"} <= set(body)
    assert [v["ref"] for v in body["versions"]] == ["churn:1", "churn:2", "churn:3"]
    assert body["metrics"]["acc"] == {"churn:1": 0.51, "churn:2": 0.52, "churn:3": 0.53}
    assert body["params"]["C"] == {"churn:1": "1", "churn:2": "2", "churn:3": "3"}
    assert body["differing_params"] == ["C"]
    for figure in body["charts"].values():
        assert "data" in figure and "layout" in figure
    bars = body["charts"]["metrics"]
    assert [t["y"] for t in bars["data"]] == [[0.51], [0.52], [0.53]]


def test_compare_version_timestamps_are_iso_8601_utc_like_every_api_timestamp(api):
    seed(n=1)
    ModelVersion.objects.update(
        creation_timestamp=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    )
    body = api.get("/api/v1/compare/", {"model": "churn", "versions": "1"}).json()
    assert body["versions"][0]["creation_timestamp"] == "2026-01-02T03:04:05Z"


def test_compare_accepts_repeated_versions_and_refs_across_models(api):
    seed("churn", n=2)
    seed("fraud detector", n=1)
    assert api.get("/api/v1/compare/?model=churn&versions=1&versions=2").status_code == 200
    response = api.get("/api/v1/compare/", {"refs": "churn:2,fraud detector:1"})
    assert response.status_code == 200
    assert [v["ref"] for v in response.json()["versions"]] == ["churn:2", "fraud detector:1"]


@pytest.mark.parametrize(
    "query, named",
    [
        ({"model": "nope", "versions": "1"}, "nope"),
        ({"model": "churn", "versions": "1,9"}, "9"),
        ({"model": "churn", "versions": "1,1"}, "churn:1"),
        ({"model": "churn", "versions": ",".join(str(v) for v in range(1, 22))}, "21"),
        ({"refs": "churn-1"}, "churn-1"),
        ({"refs": "churn:one"}, "one"),
        ({}, "versions"),
        ({"model": "churn", "versions": "1,2", "x": "auc"}, "'auc'"),
    ],
)
def test_bad_selection_is_a_400_naming_the_value(api, query, named):
    seed(n=2)
    response = api.get("/api/v1/compare/", query)
    assert response.status_code == 400
    assert named in response.json()["detail"]


def test_anonymous_compare_is_401():
    assert APIClient().get("/api/v1/compare/?refs=churn:1").status_code == 401


def test_trend_lists_every_version_with_its_value_and_aliases(api):
    seed(n=4, aliases={"champion": 2}, metrics=lambda v: {"acc": 0.5 + v / 100} if v != 3 else {"f1": 0.1})
    response = api.get("/api/v1/models/churn/trend", {"metric": "acc"})
    assert response.status_code == 200
    assert response.json() == [
        {"version": 1, "value": 0.51, "aliases": []},
        {"version": 2, "value": 0.52, "aliases": ["champion"]},
        {"version": 3, "value": None, "aliases": []},
        {"version": 4, "value": 0.54, "aliases": []},
    ]


def test_trend_of_a_metric_no_version_has_is_a_400_naming_it(api):
    seed(n=2)
    response = api.get("/api/v1/models/churn/trend", {"metric": "auc"})
    assert response.status_code == 400
    assert "auc" in response.json()["detail"]
    assert api.get("/api/v1/models/nope/trend", {"metric": "acc"}).status_code == 404


def test_trend_and_parallel_charts_are_figures(api):
    seed(n=5, params=lambda v: {"C": str(v / 10), "solver": "saga" if v % 2 else "lbfgs"})
    trend = api.get("/api/v1/models/churn/trend/chart", {"metric": "acc"}).json()
    assert trend["data"][0]["x"] == [1, 2, 3, 4, 5]
    parallel = api.get("/api/v1/models/churn/parallel/chart", {"metric": "acc"}).json()
    labels = [d["label"] for d in parallel["data"][0]["dimensions"]]
    assert labels == ["C", "solver", "acc"]


def test_history_chart_uses_cached_histories_downsampled_to_2000_points(api):
    versions = seed(n=2)
    for mv in versions:
        MetricHistoryFactory(run=mv.source_run, steps=10_000, value=lambda s: (s % 97) / 97)
    response = api.get("/api/v1/compare/history", {"model": "churn", "versions": "1,2", "metric": "acc"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [t["name"] for t in body["figure"]["data"]] == ["churn:1", "churn:2"]
    assert all(len(t["x"]) <= 2000 for t in body["figure"]["data"])
    assert body["figure"]["data"][0]["x"][0] == 0 and body["figure"]["data"][0]["x"][-1] == 9999


def test_history_of_a_metric_no_selected_version_has_is_a_400(api):
    seed(n=2)
    response = api.get("/api/v1/compare/history", {"model": "churn", "versions": "1,2", "metric": "loss"})
    assert response.status_code == 400
    assert "loss" in response.json()["detail"]


def test_the_page_and_the_api_show_the_same_numbers(api, client, user):
    seed(n=3, metrics=lambda v: {"acc": 0.5 + v / 7, "rmse": 1 / v})
    ModelVersion.objects.filter(version=2).update(tags={"owner": "x"})
    client.force_login(user)
    page = client.get("/compare/", {"model": "churn", "versions": "1,2,3"})
    body = api.get("/api/v1/compare/", {"model": "churn", "versions": "1,2,3"}).json()
    assert json.loads(json.dumps(page.context["data"])) == body


def test_the_schema_describes_the_comparison_endpoints(client, user):
    client.force_login(user)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/compare/" in schema
    assert "/api/v1/models/{name}/trend" in schema
