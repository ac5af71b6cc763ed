"""Garbage in query strings and bodies gets a 4xx (or an empty page), never a 5xx."""

import pytest

from mirror.sync import apply_snapshot
from tests.factories import mlflow_model, mlflow_version, snapshot

pytestmark = pytest.mark.django_db

GARBAGE = ["", "-1", "0", "abc", "1e99", "%00", "'; DROP TABLE x;--", "9" * 40, "\u202e", "a" * 3000]
ENDPOINTS = [
    "/api/v1/models/?page={g}&page_size={g}&search={g}&tag={g}&alias={g}&sort={g}",
    "/api/v1/models/?tag={g}:{g}",
    "/models/?tag={g}:x",
    "/api/v1/models/churn/versions/?page={g}&page_size={g}",
    "/api/v1/models/churn/versions/1/metrics/{g}/history",
    "/api/v1/models/churn/history?target={g}",
    "/api/v1/models/churn/trend?metric={g}",
    "/api/v1/compare/?model=churn&versions={g}",
    "/api/v1/compare/?refs={g}",
    "/api/v1/promotions/?state={g}&model={g}&target={g}&awaiting_me={g}&page={g}",
    "/api/v1/drift/?model={g}&open={g}",
    "/api/v1/audit/?actor={g}&action={g}&object_type={g}&object_id={g}&since={g}&page={g}",
    "/api/v1/sync/runs/?page={g}",
    "/api/v1/models/churn/versions/1/card/diff?from={g}&to={g}",
    "/api/v1/models/churn/versions/1/card/export?format={g}",
    "/api/v1/models/churn/versions/1/card/revisions/{g}",
    "/models/?search={g}&tag={g}&alias={g}&sort={g}&page={g}",
    "/models/churn/?page={g}",
    "/compare/?model=churn&versions={g}",
    "/compare/?refs={g}",
    "/promotions/?state={g}&target={g}&page={g}",
    "/audit/?since={g}&page={g}",
    "/policy/?model={g}",
]


@pytest.fixture
def staff_client(client, make_user):
    apply_snapshot(
        snapshot([mlflow_model("churn", tags={"primary_metric": "acc"})], [mlflow_version("churn", 1)])
    )
    client.force_login(make_user("ops", "auditors", staff=True))
    return client


@pytest.mark.parametrize("template", ENDPOINTS)
def test_garbage_query_values_never_cause_a_5xx(staff_client, template):
    from urllib.parse import quote

    for g in GARBAGE:
        url = template.format(g=quote(g, safe=""))
        response = staff_client.get(url)
        assert response.status_code < 500, f"{url} → {response.status_code}"


@pytest.mark.parametrize(
    "path,body",
    [
        ("/api/v1/promotions/", {"model": ["x"], "version": "abc", "target": {"a": 1}}),
        ("/api/v1/promotions/", "not json"),
        ("/api/v1/rollbacks/", {"model": "churn", "target": "production", "to_version": -5}),
        ("/api/v1/promotions/999999/approve", {"password": 1}),
        ("/api/v1/promotions/999999/reject", {}),
    ],
)
def test_garbage_bodies_never_cause_a_5xx(staff_client, path, body):
    import json

    data = body if isinstance(body, str) else json.dumps(body)
    response = staff_client.post(path, data=data, content_type="application/json")
    assert 400 <= response.status_code < 500, (path, response.status_code)


def test_digit_only_metric_and_tag_keys_are_object_members_not_array_indexes(client, make_user):
    from tests.factories import mlflow_run

    v = mlflow_version("yearly", 1)
    apply_snapshot(
        snapshot(
            [mlflow_model("yearly", tags={"2024": "audited"})],
            [v],
            runs={v.run_id: mlflow_run(v.run_id, metrics={"2024": 0.5})},
        )
    )
    client.force_login(make_user("reader"))
    assert client.get("/api/v1/models/yearly/trend?metric=2024").json() == [
        {"version": 1, "value": 0.5, "aliases": []}
    ]
    assert client.get("/api/v1/models/?tag=2024:audited").json()["count"] == 1
