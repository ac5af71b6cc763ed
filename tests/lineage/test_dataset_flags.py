"""Dataset flags (API and audit) and the gate `training_data_not_flagged` (pure table, then through the workflow)."""

import textwrap
from dataclasses import replace

import pytest
from rest_framework.test import APIClient

from approvals.gates import FAILED, PASSED, PENDING, GateInput, GateSpec, evaluate_gate, validate_params
from approvals.workflow import evaluation, gating
from audit.models import AuditEvent
from lineage import flags
from lineage.models import DatasetFlag
from mirror.models import ModelVersion, Run
from tests.support.governance import request_and_check, seed_model

URL = "/api/v1/datasets/flags/"
SPEC = GateSpec(type="training_data_not_flagged")
BASE = GateInput(model_name="churn", version=2, version_status="READY", has_signature=True)
FLAG = {"digest": "d1", "reason": "labels leaked", "run_id": "r1", "flagged_by": "stan"}


# --- the gate, pure ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flagged", "status", "words"),
    [
        (None, PENDING, ["not known yet"]),
        ((), PASSED, ["No dataset"]),
        ((FLAG,), FAILED, ["d1", "labels leaked", "run r1"]),
        (
            (FLAG, {**FLAG, "digest": "d0", "reason": "", "run_id": "r0"}),
            FAILED,
            ["d0 (run r0): no reason given", "d1 (run r1): labels leaked"],
        ),
    ],
)
def test_gate_table(flagged, status, words):
    out = evaluate_gate(SPEC, replace(BASE, flagged_training_data=flagged))
    assert out.status == status
    for word in words:
        assert word in out.detail


def test_gate_observed_names_digests_and_takes_no_parameters():
    out = evaluate_gate(SPEC, replace(BASE, flagged_training_data=(FLAG, {**FLAG, "run_id": "r2"})))
    assert out.observed == "flagged: d1"
    assert validate_params("training_data_not_flagged", {}) == []
    assert validate_params("training_data_not_flagged", {"x": 1})


def test_gate_runs_on_rollbacks_too():
    out = evaluate_gate(SPEC, replace(BASE, is_rollback=True, flagged_training_data=(FLAG,)))
    assert out.status == FAILED


def test_policy_parser_knows_the_gate(use_policy):
    from approvals import policy

    use_policy(POLICY)
    spec = policy.get_policy().target("churn", "staging")
    assert [g.type for g in spec.gates] == ["version_ready", "training_data_not_flagged"]


# --- the API ----------------------------------------------------------------------------------------------------
def client_for(user):
    c = APIClient()
    c.force_authenticate(user)
    return c


@pytest.fixture
def staff_api(staff):
    return client_for(staff)


@pytest.mark.django_db
def test_flag_list_and_lift_are_audited(staff_api, api):
    r = staff_api.post(URL, {"digest": "abc123", "reason": "wrong labels"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json() | {"flagged_at": None} == {
        "digest": "abc123", "reason": "wrong labels", "flagged_by": "staffer", "flagged_at": None,
        "lifted_by": None, "lifted_at": None, "active": True,
    }  # fmt: skip
    listed = api.get(URL).json()
    assert [f["digest"] for f in listed] == ["abc123"]

    assert staff_api.delete(URL + "abc123").status_code == 204
    row = DatasetFlag.objects.get()
    assert row.lifted_by.username == "staffer" and row.lifted_at is not None
    assert api.get(URL).json()[0]["active"] is False
    assert api.get(URL + "?active=true").json() == []
    events = list(AuditEvent.objects.filter(object_type="dataset").order_by("seq"))
    assert [(e.action, e.object_id, e.actor) for e in events] == [
        ("dataset.flagged", "abc123", "staffer"),
        ("dataset.flag_lifted", "abc123", "staffer"),
    ]
    assert events[0].data["reason"] == "wrong labels"


@pytest.mark.django_db
def test_a_lifted_digest_can_be_flagged_again(staff_api):
    staff_api.post(URL, {"digest": "d", "reason": "one"}, format="json")
    staff_api.delete(URL + "d")
    assert staff_api.post(URL, {"digest": "d", "reason": "two"}, format="json").status_code == 201
    assert DatasetFlag.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [{}, {"digest": "d"}, {"reason": "r"}, {"digest": " ", "reason": "r"}, {"digest": 3, "reason": "r"},
     {"digest": "d", "reason": "x" * 2001}, {"digest": "d" * 256, "reason": "r"}, ["d", "r"]],
)  # fmt: skip
def test_bad_input_is_400_with_a_sentence(staff_api, body):
    r = staff_api.post(URL, body, format="json")
    assert r.status_code == 400
    assert r.json()["detail"].endswith(".")
    assert not DatasetFlag.objects.exists()


@pytest.mark.django_db
def test_duplicate_active_flag_is_409_and_unknown_lift_404(staff_api):
    assert staff_api.post(URL, {"digest": "d", "reason": "r"}, format="json").status_code == 201
    r = staff_api.post(URL, {"digest": "d", "reason": "again"}, format="json")
    assert r.status_code == 409 and "flagged already" in r.json()["detail"]
    r = staff_api.delete(URL + "nope")
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    assert AuditEvent.objects.filter(object_type="dataset").count() == 1


@pytest.mark.django_db
def test_only_staff_may_flag_or_lift(api, staff_api):
    assert api.post(URL, {"digest": "d", "reason": "r"}, format="json").status_code == 403
    staff_api.post(URL, {"digest": "d", "reason": "r"}, format="json")
    assert api.delete(URL + "d").status_code == 403
    assert APIClient().get(URL).status_code in (401, 403)


# --- through the workflow ---------------------------------------------------------------------------------------
POLICY = textwrap.dedent(
    """
    version: 1
    targets:
      staging:
        mlflow: {alias: staging}
        approvals: 1
        approver_groups: [approvers]
        gates: [version_ready, training_data_not_flagged]
    """
)


def ds(digest, context="training"):
    return {"name": f"data-{digest}", "digest": digest, "source_type": "s3", "source": f"s3://b/{digest}",
            "context": context, "schema": "", "profile": ""}  # fmt: skip


@pytest.fixture
def trained(use_policy, people, fake_mlflow):
    """churn v2's run is a child of `sweep`, which trained on d-parent; v2's own run trained on d-own and was
    evaluated on d-eval."""
    use_policy(POLICY)
    seed_model("churn", (1, 2))
    mv = ModelVersion.objects.get(model__name="churn", version=2)
    Run.objects.filter(run_id=mv.run_id).update(
        datasets=[ds("d-own"), ds("d-eval", "eval")], tags={"mlflow.parentRunId": "sweep"}
    )
    parent = Run.objects.get(run_id=mv.run_id)
    parent.pk, parent.run_id, parent.tags, parent.datasets = None, "sweep", {}, [ds("d-parent")]
    parent.save()
    return mv


@pytest.mark.django_db
def test_provider_reads_the_parent_chain_and_training_context_only(trained, people):
    flags.flag(user=people["staff"], data={"digest": "d-eval", "reason": "eval only"})
    assert flags.trained_on(trained) == {"d-own": [trained.run_id], "d-parent": ["sweep"]}
    assert flags.flagged_training_data(trained) == []
    flags.flag(user=people["staff"], data={"digest": "d-parent", "reason": "bad join"})
    got = evaluation.flagged_training_data(trained)
    assert [(f["digest"], f["run_id"], f["reason"]) for f in got] == [("d-parent", "sweep", "bad join")]


@pytest.mark.django_db
def test_flagged_training_data_blocks_the_promotion_and_lifting_lets_it_pass(trained, people):
    flags.flag(user=people["staff"], data={"digest": "d-own", "reason": "labels leaked"})
    p = request_and_check(people["requester"], version=2, target="staging")
    assert p.state == "blocked"
    gate = p.gate_results.get(name="training_data_not_flagged")
    assert gate.status == "failed"
    assert "d-own" in gate.detail and "labels leaked" in gate.detail

    flags.lift(user=people["staff"], digest="d-own")
    gating.recheck(promotion_id=p.pk, user=people["requester"])
    gating.run_gates(promotion_id=p.pk)
    p.refresh_from_db()
    assert p.state == "awaiting_approval"
    assert p.gate_results.get(name="training_data_not_flagged").status == "passed"


@pytest.mark.django_db
def test_without_a_lineage_source_the_gate_waits(trained, people, monkeypatch):
    monkeypatch.setattr(evaluation, "_flagged_source", None)
    p = request_and_check(people["requester"], version=2, target="staging")
    assert p.state == "checking"
    assert p.gate_results.get(name="training_data_not_flagged").status == "pending"
