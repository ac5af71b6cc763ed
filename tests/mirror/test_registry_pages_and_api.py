"""Pages and the Registry-mirror API: auth, shapes, bad input, deleted objects, bounded queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mirror.sync import apply_snapshot
from tests.factories import mlflow_model, mlflow_run, mlflow_version, snapshot
from tests.support.tokens import issue_key

pytestmark = pytest.mark.django_db


def seed_mirror(n_versions=3, name="churn", **model_kwargs):
    model = mlflow_model(
        name, tags={"primary_metric": "acc", "team": "risk"}, aliases={"production": 1}, **model_kwargs
    )
    versions = [
        mlflow_version(name, v, aliases=["production"] if v == 1 else []) for v in range(1, n_versions + 1)
    ]
    runs = {
        v.run_id: mlflow_run(
            v.run_id,
            datasets=[
                {
                    "name": "train",
                    "digest": "abc",
                    "source_type": "code",
                    "source": "{}",
                    "context": "training",
                }
            ],
        )
        for v in versions
    }
    apply_snapshot(snapshot([model], versions, runs))


# --- authentication -------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/api/v1/models/", "/api/v1/models/churn/", "/api/v1/sync/runs/"])
def test_anonymous_api_calls_get_401_with_www_authenticate(client, url):
    response = client.get(url)
    assert response.status_code == 401
    assert "Token" in response["WWW-Authenticate"]


def test_schema_is_public_and_describes_the_mirror(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"] if response["Content-Type"].startswith("application/json") else None
    if paths is None:
        import yaml

        paths = yaml.safe_load(response.content)["paths"]
    assert "/api/v1/models/{name}/versions/{version}/" in paths
    assert "/api/v1/sync/" in paths


def test_anonymous_pages_redirect_to_login(client):
    response = client.get("/models/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_token_authentication_works(client, user):
    seed_mirror()
    key = issue_key(user)
    response = client.get("/api/v1/models/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200


# --- shapes ---------------------------------------------------------------------------------------
def test_model_list_shape(api):
    seed_mirror()
    body = api.get("/api/v1/models/").json()
    assert body["count"] == 1 and set(body) == {"count", "next", "previous", "results"}
    model = body["results"][0]
    assert model["aliases"] == {"production": 1}
    assert model["latest_version"] == 3 and model["version_count"] == 3
    assert model["last_updated_timestamp"].endswith("Z")


def test_version_detail_shape(api):
    seed_mirror()
    body = api.get("/api/v1/models/churn/versions/1/").json()
    assert body["model"] == "churn" and body["version"] == 1 and body["stage"] == "None"
    assert body["aliases"] == ["production"]
    assert body["run"]["metrics"] == {"acc": 0.9}
    assert body["run"]["datasets"] == [
        {"name": "train", "digest": "abc", "source_type": "code", "source": "{}", "context": "training"}
    ]
    assert body["content_hash"] is None and body["signature"] is None
    assert "#/models/churn/versions/1" in body["mlflow_url"]


def test_versions_are_listed_newest_first(api):
    seed_mirror(5)
    assert [v["version"] for v in api.get("/api/v1/models/churn/versions/").json()["results"]] == [
        5,
        4,
        3,
        2,
        1,
    ]


def test_model_names_with_spaces_and_dots_work(api):
    seed_mirror(name="fraud model.v2")
    assert api.get("/api/v1/models/fraud%20model.v2/versions/1/").status_code == 200


@pytest.mark.parametrize(
    "query,expected",
    [
        ("search=chu", 1),
        ("search=zzz", 0),
        ("search=", 1),
        ("tag=team:risk", 1),
        ("tag=team:ops", 0),
        ("tag=team", 1),
        ("alias=production", 1),
        ("alias=staging", 0),
    ],
)
def test_model_list_filters(api, query, expected):
    seed_mirror()
    apply_snapshot(snapshot([mlflow_model("other")], [], scope="other"))
    body = api.get(f"/api/v1/models/?{query}").json()
    assert body["count"] == expected + (1 if query == "search=" else 0)


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url", ["/api/v1/models/nope/", "/api/v1/models/churn/versions/99/", "/api/v1/models/nope/versions/"]
)
def test_unknown_objects_are_404_json(api, url):
    seed_mirror()
    response = api.get(url)
    assert response.status_code == 404 and "detail" in response.json()


@pytest.mark.parametrize("query", ["page=abc", "page=999", "page=-1", "page_size=abc"])
def test_garbage_pages_are_4xx_never_5xx(api, query):
    seed_mirror()
    assert api.get(f"/api/v1/models/?{query}").status_code in (200, 400, 404)


def test_page_size_is_capped_at_500(api):
    seed_mirror(600)
    body = api.get("/api/v1/models/churn/versions/?page_size=10000").json()
    assert len(body["results"]) == 500


def test_bad_sort_is_400(api):
    assert api.get("/api/v1/models/?sort=evil").status_code == 400


@pytest.mark.parametrize(
    "url", ["/models/?page=zzz", "/models/?sort=evil", "/models/churn/?page=99999", "/sync/?page=x"]
)
def test_pages_never_500_on_garbage(client_user, url):
    seed_mirror()
    assert client_user.get(url).status_code in (200, 400)


def test_unknown_model_page_is_404(client_user):
    assert client_user.get("/models/nope/").status_code == 404
    assert client_user.get("/models/nope/versions/1/").status_code == 404


def test_deleted_version_disappears_from_lists_counts_and_detail(api):
    seed_mirror(3)
    model = mlflow_model("churn", tags={"primary_metric": "acc", "team": "risk"}, aliases={"production": 1})
    apply_snapshot(
        snapshot([model], [mlflow_version("churn", 1, aliases=["production"]), mlflow_version("churn", 2)])
    )
    assert api.get("/api/v1/models/churn/versions/3/").status_code == 404
    body = api.get("/api/v1/models/churn/").json()
    assert (body["version_count"], body["latest_version"]) == (2, 2)
    assert [v["version"] for v in api.get("/api/v1/models/churn/versions/").json()["results"]] == [2, 1]


def test_dashboard_counts_the_live_versions_of_live_models(client_user):
    churn, fraud = mlflow_model("churn"), mlflow_model("fraud")
    versions = [mlflow_version("churn", v) for v in (1, 2, 3)] + [mlflow_version("fraud", v) for v in (1, 2)]
    apply_snapshot(snapshot([churn, fraud], versions))
    apply_snapshot(snapshot([churn, fraud], [v for v in versions if (v.name, v.version) != ("churn", 3)]))
    context = client_user.get("/").context
    assert (context["model_count"], context["version_count"]) == (2, 4)
    apply_snapshot(snapshot([churn], versions[:2]))  # fraud deleted in MLflow
    context = client_user.get("/").context
    assert (context["model_count"], context["version_count"]) == (1, 2)


# --- sync API -------------------------------------------------------------------------------------
def test_only_staff_may_start_a_sync(api, staff, django_capture_on_commit_callbacks):
    assert api.post("/api/v1/sync/").status_code == 403
    api.force_authenticate(staff)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post("/api/v1/sync/")
    assert response.status_code == 202 and isinstance(response.json()["id"], int)
    assert len(callbacks) == 1
    runs = api.get("/api/v1/sync/runs/").json()
    assert runs["results"][0]["kind"] == "full" and runs["results"][0]["status"] == "queued"
    assert {"models", "versions", "runs", "created", "updated", "deleted", "error"} <= set(runs["results"][0])


# --- bounded queries ------------------------------------------------------------------------------
def count_queries(fn):
    with CaptureQueriesContext(connection) as ctx:
        response = fn()
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _assert_queries_do_not_grow(client, url):
    seed_mirror(10)
    small = count_queries(lambda: client.get(url))
    seed_mirror(500)
    large = count_queries(lambda: client.get(url))
    assert small == large, f"{url}: {small} queries with 10 versions, {large} with 500"


@pytest.mark.parametrize(
    "url",
    ["/", "/models/", "/models/churn/", "/models/churn/versions/1/", "/sync/"],
)
def test_pages_run_the_same_number_of_queries_with_10_and_500_versions(client_user, url):
    _assert_queries_do_not_grow(client_user, url)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/models/",
        "/api/v1/models/churn/",
        "/api/v1/models/churn/versions/",
        "/api/v1/models/churn/versions/1/",
        "/api/v1/sync/runs/",
    ],
)
def test_api_runs_the_same_number_of_queries_with_10_and_500_versions(api, url):
    _assert_queries_do_not_grow(api, url)


def test_the_api_version_list_reads_neither_the_runs_facts_nor_the_model_once_per_version(api):
    """The list shows authors, not the run's metrics, params and tags (large JSON): it does not decode them,
    nor join the model row it already read once."""
    seed_mirror(5)
    with CaptureQueriesContext(connection) as ctx:
        body = api.get("/api/v1/models/churn/versions/").json()
    (listing,) = [q["sql"] for q in ctx.captured_queries if 'FROM "registry_ui_modelversion"' in q["sql"]
                  and "COUNT(" not in q["sql"]]  # fmt: skip
    assert '"registry_ui_run"."metrics"' not in listing and '"registry_ui_run"."tags"' not in listing
    assert 'JOIN "registry_ui_registeredmodel"' not in listing
    assert {r["model"] for r in body["results"]} == {"churn"} and len(body["results"]) == 5
    assert all(r["authors"] for r in body["results"])


# --- MLflow unreachable: pages work from the mirror and say how old it is ----------------------
def test_pages_keep_working_and_say_the_mirror_is_stale_when_the_last_sync_failed(client_user):
    from django.utils import timezone

    from mirror.models import SyncRun

    seed_mirror()
    an_hour_ago = timezone.now() - timezone.timedelta(hours=1)
    SyncRun.objects.create(kind="full", status="succeeded", started_at=an_hour_ago, finished_at=an_hour_ago)
    SyncRun.objects.create(
        kind="reconcile",
        status="failed",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        error="MLflow at http://mlflow is unreachable",
    )
    page = client_user.get("/models/").content.decode()
    assert "churn" in page
    assert "showing data as of" in page and "last attempt failed" in page


def test_fresh_mirror_shows_no_stale_banner(client_user):
    from django.utils import timezone

    from mirror.models import SyncRun

    seed_mirror()
    SyncRun.objects.create(
        kind="full", status="succeeded", started_at=timezone.now(), finished_at=timezone.now()
    )
    page = client_user.get("/models/").content.decode()
    assert "showing data as of" not in page
