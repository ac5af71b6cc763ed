"""GET /api/v1/evidence/?target= — the auditors' evidence pack."""

import io
import json
import zipfile

import pytest

from tests.support.governance import approve, request_and_check, run_outbox, seed_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def applied(policy_file, people, fake_mlflow, no_task_sends):
    seed_model("churn", versions=(1, 2))
    p = request_and_check(people["requester"], version=2, target="production", justification="better")
    approve(p, people["a1"])
    approve(p, people["a2"])
    run_outbox(p)
    assert p.state == "applied"
    return p


def unzip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_auditor_downloads_a_pack_with_cards_signatures_and_a_verified_chain(client, make_user, applied):
    client.force_login(make_user("audrey", "auditors"))
    response = client.get("/api/v1/evidence/?target=production")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    pack = unzip(response)
    index = json.loads(pack.read("index.json"))
    assert index["target"] == "production" and index["audit"]["ok"] is True
    [entry] = index["versions"]
    assert (entry["model"], entry["version"]) == ("churn", 2)  # the fake MLflow does not feed the mirror back
    assert entry["held"] and entry["held"][0]["promotion_id"] == applied.pk
    names = pack.namelist()
    for ext in ("md", "html", "json"):
        assert any(n.startswith("churn/v2/") and n.endswith(f".{ext}") for n in names), ext
    promotions = json.loads(pack.read("churn/v2/promotions.json"))
    assert {a["reviewer"] for a in promotions[0]["approvals"]} == {"ann", "bob"}
    assert promotions[0]["gates"]
    chain = pack.read("audit/chain.jsonl").decode().splitlines()
    actions = [json.loads(line)["action"] for line in chain]
    assert "evidence.exported" in actions
    assert json.loads(pack.read("audit/verification.json"))["ok"] is True


def test_pack_lists_a_version_that_holds_the_target_in_mlflow_without_a_promotion(
    client, make_user, policy_file
):
    seed_model("fraud", versions=(1, 2), aliases={"production": 1})
    client.force_login(make_user("audrey", "auditors"))
    index = json.loads(unzip(client.get("/api/v1/evidence/?target=production")).read("index.json"))
    assert [(v["model"], v["version"], v["holds_target_now"], v["held"]) for v in index["versions"]] == [
        ("fraud", 1, True, [])
    ]


@pytest.mark.parametrize(
    "groups,staff,status", [((), False, 403), (("ml-engineers",), False, 403), ((), True, 200)]
)
def test_only_auditors_and_staff_may_export_evidence(client, make_user, policy_file, groups, staff, status):
    seed_model("churn")
    client.force_login(make_user("someone", *groups, staff=staff))
    assert client.get("/api/v1/evidence/?target=production").status_code == status


@pytest.mark.parametrize(
    "query",
    ["", "?target=", "?target=nowhere", "?target=production&formats=docx", "?target=production&formats=,"],
)
def test_bad_evidence_requests_are_400(client, make_user, policy_file, query):
    seed_model("churn")
    client.force_login(make_user("audrey", "auditors"))
    response = client.get(f"/api/v1/evidence/{query}")
    assert response.status_code == 400 and "detail" in response.json()


def test_anonymous_evidence_request_is_401(client):
    assert client.get("/api/v1/evidence/?target=production").status_code == 401
