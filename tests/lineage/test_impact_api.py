"""`GET /api/v1/lineage/impact/`: every live version downstream of a dataset, commit or run, and what it holds."""

import pytest
from django.utils import timezone

from approvals.models import TargetHolding
from mirror.models import RegisteredModel
from mirror.sync import apply_snapshot
from tests.factories import mlflow_model, mlflow_run, mlflow_version, snapshot

pytestmark = pytest.mark.django_db

URL = "/api/v1/lineage/impact/"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def dataset(digest, context="training", source=None):
    return {"name": f"data-{digest}", "digest": digest, "source_type": "s3",
            "source": source or f"s3://b/{digest}.csv", "context": context, "schema": "", "profile": ""}  # fmt: skip


def run(run_id, *datasets, parent="", commit=""):
    tags = {"mlflow.user": "alice"}
    if parent:
        tags["mlflow.parentRunId"] = parent
    if commit:
        tags |= {"mlflow.source.git.commit": commit, "mlflow.source.git.repoURL": "https://git.example/r.git"}
    return mlflow_run(run_id, tags=tags, datasets=list(datasets))


def seed(extra_churn_versions=0):
    """churn v1 (production) and v2 (staging) trained on d1; fraud v1 evaluated on d1 and trained on d10;
    fraud v2 from a child of a run that logged d1; other v1 on d2 from commit COMMIT."""
    runs = {
        "c1": run("c1", dataset("d1")),
        "c2": run("c2", dataset("d1"), dataset("d1", "eval")),
        "f1": run("f1", dataset("d10"), dataset("d1", "eval")),
        "sweep": run("sweep", dataset("d1")),
        "f2": run("f2", parent="sweep"),
        "o1": run("o1", dataset("d2"), commit=COMMIT),
    }
    versions = [
        mlflow_version("churn", 1, run_id="c1"),
        mlflow_version("churn", 2, run_id="c2"),
        mlflow_version("fraud", 1, run_id="f1"),
        mlflow_version("fraud", 2, run_id="f2"),
        mlflow_version("other", 1, run_id="o1"),
    ]
    for n in range(extra_churn_versions):
        runs[f"x{n}"] = run(f"x{n}", dataset("d1"), parent="c1")
        versions.append(mlflow_version("churn", 3 + n, run_id=f"x{n}"))
    apply_snapshot(snapshot([mlflow_model(m) for m in ("churn", "fraud", "other")], versions, runs))
    churn = RegisteredModel.objects.get(name="churn")
    now = timezone.now()
    TargetHolding.objects.create(model=churn, target="production", version=1, held_from=now)
    TargetHolding.objects.create(model=churn, target="staging", version=2, held_from=now)
    TargetHolding.objects.create(model=churn, target="canary", version=2, held_from=now, held_to=now)


def refs(body):
    return [(v["model"], v["version"]) for v in body["versions"]]


def test_a_dataset_digest_names_every_downstream_version_and_its_targets(api):
    seed()
    body = api.get(URL + "?dataset_digest=d1").json()
    assert refs(body) == [("churn", 1), ("churn", 2), ("fraud", 1), ("fraud", 2)]
    assert [v["targets"] for v in body["versions"]] == [["production"], ["staging"], [], []]
    assert body["summary"] == "4 versions, 1 in production, 1 in staging"
    assert body["dataset"]["digests"] == ["d1"]
    assert body["dataset"]["sources"] == ["s3://b/d1.csv"]
    assert (body["code"], body["run"]) == (None, None)
    assert set(body["runs"]) == {"c1", "c2", "f1", "sweep", "f2"}


@pytest.mark.parametrize(
    "query, expected, summary",
    [
        ("dataset_digest=d10", [("fraud", 1)], "1 version"),  # d1 is not a match for d10, nor the reverse
        ("dataset_source=s3://b/d2.csv", [("other", 1)], "1 version"),
        (f"commit={COMMIT}", [("other", 1)], "1 version"),
        (f"commit={COMMIT[:7]}", [("other", 1)], "1 version"),
        ("run_id=sweep", [("fraud", 2)], "1 version"),
        ("run_id=c1", [("churn", 1)], "1 version, 1 in production"),
    ],
)
def test_impact_by_digest_source_commit_and_run(api, query, expected, summary):
    seed()
    body = api.get(f"{URL}?{query}").json()
    assert (refs(body), body["summary"]) == (expected, summary)


def test_a_commit_query_describes_the_code(api):
    seed()
    body = api.get(f"{URL}?commit={COMMIT[:10]}").json()
    assert body["code"] == {
        "commit": COMMIT[:10],
        "commits": [COMMIT],
        "repositories": ["https://git.example/r.git"],
    }


def test_a_source_with_characters_json_escapes_still_matches(api):
    source = 'C:\\data\\"données".csv'
    apply_snapshot(
        snapshot([mlflow_model("churn")], [mlflow_version("churn", 1, run_id="c1")],
                 {"c1": run("c1", dataset("dz", source=source))})
    )  # fmt: skip
    body = api.get(URL, {"dataset_source": source}).json()
    assert refs(body) == [("churn", 1)]


def test_deleted_versions_are_left_out(api):
    seed()
    still = snapshot([mlflow_model("churn")], [mlflow_version("churn", 2, run_id="c2")], scope="churn",
                     runs={"c2": run("c2", dataset("d1"))})  # fmt: skip
    apply_snapshot(still)
    assert refs(api.get(URL + "?dataset_digest=d1").json()) == [("churn", 2), ("fraud", 1), ("fraud", 2)]


def test_no_version_downstream_is_said(api):
    apply_snapshot(snapshot([], [], {"lonely": run("lonely", dataset("d7"))}))
    body = api.get(URL + "?dataset_digest=d7").json()
    assert (body["versions"], body["summary"]) == ([], "No version is downstream.")


# matching runs (1) + one per level of descendants (at most LINEAGE_MAX_DEPTH, 6) + versions (1) + holdings (1)
MAX_QUERIES = 1 + 6 + 2


@pytest.mark.parametrize("extra", [0, 25])
def test_impact_loads_in_a_bounded_number_of_queries(api, django_assert_max_num_queries, extra):
    seed(extra_churn_versions=extra)
    with django_assert_max_num_queries(MAX_QUERIES):
        body = api.get(URL + "?dataset_digest=d1").json()
    assert len(body["versions"]) == 4 + extra


@pytest.mark.parametrize(
    "query, status, words",
    [
        ("", 400, "Give exactly one of"),
        ("dataset_digest=d1&commit=0123456", 400, "Give exactly one of"),
        ("dataset_digest=", 400, "dataset_digest is empty"),
        ("commit=0123", 400, "at least 7 characters"),
        ("dataset_digest=nope", 404, "No run in the mirror logged a dataset with digest 'nope'"),
        ("dataset_source=s3://nowhere", 404, "with source 's3://nowhere'"),
        ("commit=fffffffff", 404, "No run in the mirror was built from commit"),
        ("run_id=nope", 404, "No run 'nope' in the mirror"),
    ],
)
def test_bad_input_is_a_sentence_never_a_5xx(api, query, status, words):
    seed()
    response = api.get(f"{URL}?{query}")
    assert response.status_code == status
    assert words in response.json()["detail"]


def test_anonymous_is_401(client):
    assert client.get(URL + "?dataset_digest=d1").status_code == 401
