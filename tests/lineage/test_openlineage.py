"""`GET /api/v1/lineage/{name}/{version}/openlineage`: the version's lineage as OpenLineage run events."""

import uuid
from datetime import datetime
from urllib.parse import urlsplit

import jsonschema
import pytest

from lineage.graph import DatasetFact
from lineage.openlineage import dataset_id, run_uuid
from mirror.models import Run
from tests.lineage.test_impact_api import seed
from tests.support.openlineage_schema import FACET, RUN_EVENT

pytestmark = pytest.mark.django_db

HEX_RUN = "0123456789abcdef0123456789abcdef"


def url(name, version):
    return f"/api/v1/lineage/{name}/{version}/openlineage"


def validate(events):
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    for event in events:
        jsonschema.validate(event, RUN_EVENT, format_checker=checker)
        # jsonschema checks `date-time` and `uri` only with optional extras: check them here.
        assert datetime.fromisoformat(event["eventTime"]).tzinfo is not None
        assert all(urlsplit(event[k]).scheme for k in ("producer", "schemaURL"))
        facets = [*event["run"].get("facets", {}).values()]
        for ds in event["inputs"] + event["outputs"]:
            facets += ds.get("facets", {}).values()
        for facet in facets:
            jsonschema.validate(facet, FACET, format_checker=checker)


def test_one_complete_event_per_run_with_datasets_in_and_the_version_out(api):
    seed()
    r = api.get(url("churn", 2))
    assert r.status_code == 200
    (event,) = r.json()
    validate([event])
    assert event["eventType"] == "COMPLETE"
    assert event["schemaURL"].startswith("https://openlineage.io/spec/")
    assert event["run"]["runId"] == run_uuid("c2")
    assert (event["job"]["namespace"], event["job"]["name"]) == ("mlflow:experiment:1", "c2")
    assert [(i["namespace"], i["name"]) for i in event["inputs"]] == [
        ("s3://b", "d1.csv"),
        ("s3://b", "d1.csv"),
    ]
    assert event["inputs"][0]["facets"]["version"]["datasetVersion"] == "d1"
    assert [o["name"] for o in event["outputs"]] == ["models:/churn/2"]


def test_parent_runs_are_events_too_with_the_parent_facet(api):
    seed()
    events = api.get(url("fraud", 2)).json()
    validate(events)
    assert [e["job"]["name"] for e in events] == ["f2", "sweep"]
    child, parent = events
    assert child["run"]["facets"]["parent"]["run"]["runId"] == parent["run"]["runId"]
    assert [o["name"] for o in child["outputs"]] == ["models:/fraud/2"] and parent["outputs"] == []
    assert [i["facets"]["version"]["datasetVersion"] for i in parent["inputs"]] == ["d1"]


def test_malformed_dataset_entries_still_validate(api):
    seed()
    Run.objects.filter(run_id="o1").update(
        datasets=[{"name": "x"}, {}, {"digest": "d9", "source": "/tmp/a.csv"}]
    )
    events = api.get(url("other", 1)).json()
    validate(events)
    assert [(i["namespace"], i["name"]) for i in events[0]["inputs"]] == [
        ("mlflow-dataset:unknown", "x"),
        ("mlflow-dataset:unknown", "unnamed"),
        ("file", "/tmp/a.csv"),
    ]


def test_unknown_model_or_version_is_404(api):
    seed()
    assert api.get(url("nope", 1)).status_code == 404
    assert api.get(url("churn", 99)).status_code == 404


def test_run_ids_and_dataset_names():
    assert run_uuid(HEX_RUN) == str(uuid.UUID(HEX_RUN))
    assert run_uuid("c1") == run_uuid("c1") != run_uuid("c2")
    assert dataset_id(DatasetFact(source="s3://b/k/x.csv")) == ("s3://b", "k/x.csv")
    assert dataset_id(DatasetFact(source="file:///data/x.csv")) == ("file", "/data/x.csv")
    assert dataset_id(DatasetFact(source="main.db.t", source_type="delta_table")) == (
        "delta_table",
        "main.db.t",
    )
    assert dataset_id(DatasetFact(source="data/x.csv")) == ("file", "data/x.csv")
    assert dataset_id(DatasetFact(name="iris", source_type="code")) == ("mlflow-dataset:code", "iris")
