"""Service tests of the promotion workflow: every state transition, every segregation-of-duties rule, bad input."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from approvals import selectors
from approvals.models import Approval, GateResult, OutboxItem, Promotion
from approvals.workflow import cancel, gating, requests, signatures
from common.errors import Conflict, InvalidInput, NotAllowed
from mirror.models import ModelVersion
from tests.support.governance import (
    PASSWORD,
    approve,
    audit_actions,
    request_and_check,
    run_outbox,
    seed_model,
)

pytestmark = pytest.mark.django_db


def _db_snapshot():
    return (
        list(Promotion.objects.order_by("pk").values_list("pk", "state")),
        Approval.objects.count(),
        OutboxItem.objects.count(),
    )


# --- request ------------------------------------------------------------------------------------------
def test_request_starts_checking_with_pending_gates_and_is_audited(churn, people):
    p = requests.promotion_request(
        user=people["requester"],
        model_name="churn",
        version=2,
        target="production",
        justification="better AUC",
    )
    assert p.state == "checking"
    assert p.previous_version == 1
    assert p.required_approvals == 2
    assert p.approver_groups == ["approvers"]
    assert list(p.gate_results.values_list("name", "status")) == [
        ("version_ready", "pending"),
        ("signature_present", "pending"),
        ("required_tags", "pending"),
        ("beats_current", "pending"),
    ]
    assert audit_actions(object_id=p.pk) == ["promotion.requested"]


@pytest.mark.parametrize(
    ("model", "version", "target"),
    [("nope", 1, "staging"), ("churn", 99, "staging"), ("churn", 1, "moon"), ("churn", "x", "staging")],
)
def test_request_with_unknown_model_version_or_target_is_400_and_changes_nothing(
    churn, people, model, version, target
):
    before = _db_snapshot()
    with pytest.raises(InvalidInput):
        requests.promotion_request(user=people["requester"], model_name=model, version=version, target=target)
    assert _db_snapshot() == before


def test_duplicate_open_request_is_409(churn, people):
    requests.promotion_request(user=people["requester"], model_name="churn", version=2, target="staging")
    before = _db_snapshot()
    with pytest.raises(Conflict):
        requests.promotion_request(user=people["reviewer"], model_name="churn", version=2, target="staging")
    assert _db_snapshot() == before


def test_a_closed_promotion_does_not_block_a_new_request(churn, people):
    p = requests.promotion_request(user=people["requester"], model_name="churn", version=2, target="staging")
    cancel.cancel(promotion_id=p.pk, user=people["requester"])
    again = requests.promotion_request(
        user=people["requester"], model_name="churn", version=2, target="staging"
    )
    assert again.pk != p.pk


def test_outsider_and_approver_only_users_cannot_request(churn, people):
    for who in ("outsider", "a1"):
        with pytest.raises(NotAllowed):
            requests.promotion_request(user=people[who], model_name="churn", version=2, target="staging")
    assert Promotion.objects.count() == 0


# --- gates --------------------------------------------------------------------------------------------
def test_passing_gates_move_checking_to_awaiting_approval(churn, people):
    p = request_and_check(people["requester"], version=2, target="production")
    assert p.state == "awaiting_approval"
    assert set(p.gate_results.values_list("status", flat=True)) == {"passed"}
    assert all(g.evaluated_at for g in p.gate_results.all())
    assert audit_actions(object_id=p.pk) == [
        "promotion.requested",
        "promotion.gates_evaluated",
        "promotion.awaiting_approval",
    ]


def test_a_failing_gate_blocks_and_recheck_runs_the_gates_again(churn, people):
    ModelVersion.objects.filter(model__name="churn", version=3).update(tags={})
    p = request_and_check(people["requester"], version=3, target="production")
    assert p.state == "blocked"
    tags_gate = p.gate_results.get(name="required_tags")
    assert tags_gate.status == "failed" and tags_gate.detail
    ModelVersion.objects.filter(model__name="churn", version=3).update(tags={"data_validated": "true"})
    gating.recheck(promotion_id=p.pk, user=people["requester"])
    p.refresh_from_db()
    assert p.state == "checking"
    gating.run_gates(promotion_id=p.pk)
    p.refresh_from_db()
    assert p.state == "awaiting_approval"
    assert "promotion.blocked" in audit_actions(object_id=p.pk)
    assert "promotion.recheck_requested" in audit_actions(object_id=p.pk)


def test_beats_current_compares_with_the_version_holding_the_target(churn, people):
    # v1 holds production with acc 0.81; v1 itself does not beat itself, a worse v0 does not either.
    seed_model("worse", (1, 2), aliases={"production": 2}, metrics={1: 0.5, 2: 0.9})
    p = request_and_check(people["requester"], model="worse", version=1, target="production")
    assert p.state == "blocked"
    assert p.gate_results.get(name="beats_current").status == "failed"


def test_rechecking_an_applied_promotion_is_409(churn, people, fake_mlflow):
    p = request_and_check(people["requester"], version=2)
    approve(p, people["a1"])
    run_outbox(p)
    with pytest.raises(Conflict):
        gating.recheck(promotion_id=p.pk, user=people["requester"])


# --- signatures and quorum -----------------------------------------------------------------------------
def test_quorum_of_two_marks_approved_and_writes_one_outbox_row(churn, people):
    p = request_and_check(people["requester"], version=2, target="production")
    approve(p, people["a1"], meaning="review", comment="looks fine")
    assert p.state == "awaiting_approval"
    assert OutboxItem.objects.count() == 0
    approve(p, people["a2"])
    assert p.state == "approved"
    assert p.decided_at is not None
    item = OutboxItem.objects.get()
    assert (item.promotion_id, item.version, item.mlflow_target) == (p.pk, 2, {"alias": "production"})
    a = Approval.objects.get(promotion=p, reviewer=people["a1"])
    assert (a.printed_name, a.meaning, a.comment, a.decision) == ("ann", "review", "looks fine", "approve")
    assert a.signed_at.utcoffset().total_seconds() == 0
    assert set(a.signed_hashes) >= {
        "version_content_hash",
        "card_revision",
        "card_content_hash",
        "gate_results_hash",
    }
    assert a.signed_hashes["gate_results_hash"].startswith("sha256:")
    assert audit_actions(object_id=p.pk)[-4:] == [
        "promotion.signed",
        "promotion.signed",
        "promotion.approved",
        "outbox.enqueued",
    ]


def test_printed_name_is_the_full_name_when_set(churn, people):
    people["a1"].first_name, people["a1"].last_name = "Ann", "Example"
    people["a1"].save()
    p = request_and_check(people["requester"])
    approve(p, people["a1"])
    assert Approval.objects.get(promotion=p).printed_name == "Ann Example"


def test_wrong_password_is_403_and_records_nothing(churn, people):
    p = request_and_check(people["requester"], target="production")
    before = _db_snapshot()
    with pytest.raises(NotAllowed):
        approve(p, people["a1"], password="wrong")
    with pytest.raises(NotAllowed):
        approve(p, people["a1"], password="")
    assert _db_snapshot() == before


def test_every_signature_needs_the_password_and_records_auth_method(churn, people):
    p = request_and_check(people["requester"], target="production")
    with pytest.raises(NotAllowed, match="Re-enter your password"):
        approve(p, people["a1"], password=None)
    approve(p, people["a1"])
    assert Approval.objects.get(promotion=p).auth_method == "password"


def test_requester_cannot_approve_own_promotion_even_as_approver(churn, people, make_user):
    both = make_user("both", "ml-engineers", "approvers")
    p = request_and_check(both, target="production")
    with pytest.raises(NotAllowed, match="requested"):
        approve(p, both)
    assert Approval.objects.count() == 0


@pytest.mark.parametrize(
    "made_as, group, refusal",
    [("creator", "approvers", "created"), ("run_user", "reviewers", "trained")],
    ids=["version creator", "source run's MLflow user"],
)
def test_whoever_made_the_version_cannot_approve(policy_file, people, make_user, made_as, group, refusal):
    maker = make_user("maker", group)
    seed_model("made", (1,), **{"creator": "someone", "run_user": "someone", made_as: "maker"})
    p = request_and_check(people["requester"], model="made", version=1)
    with pytest.raises(NotAllowed, match=refusal):
        approve(p, maker)


def test_only_the_policys_groups_count(churn, people):
    p = request_and_check(people["requester"], target="production")  # approvers only
    for who in ("reviewer", "outsider", "staff"):
        with pytest.raises(NotAllowed):
            approve(p, people[who])
    assert Approval.objects.count() == 0


def test_each_approver_counts_once(churn, people):
    p = request_and_check(people["requester"], target="production")
    approve(p, people["a1"])
    with pytest.raises(Conflict):
        approve(p, people["a1"])
    assert p.state == "awaiting_approval"
    assert Approval.objects.count() == 1


def test_signing_after_quorum_is_409(churn, people):
    p = request_and_check(people["requester"], target="production")
    approve(p, people["a1"])
    approve(p, people["a2"])
    with pytest.raises(Conflict):
        approve(p, people["a3"])
    assert Approval.objects.count() == 2 and OutboxItem.objects.count() == 1


def test_approving_a_blocked_cancelled_or_applied_promotion_is_409(churn, people, fake_mlflow):
    ModelVersion.objects.filter(model__name="churn", version=3).update(status="PENDING_REGISTRATION")
    blocked = request_and_check(people["requester"], version=3)
    assert blocked.state == "blocked"
    cancelled = request_and_check(people["requester"], version=2)
    cancel.cancel(promotion_id=cancelled.pk, user=people["requester"])
    applied = request_and_check(people["requester"], version=1, target="staging")
    approve(applied, people["reviewer"])
    run_outbox(applied)
    assert applied.state == "applied"
    before = _db_snapshot()
    for p in (blocked, cancelled, applied):
        with pytest.raises(Conflict):
            approve(p, people["a1"])
    assert _db_snapshot() == before


def test_invalid_meaning_is_400(churn, people):
    p = request_and_check(people["requester"])
    with pytest.raises(InvalidInput):
        approve(p, people["a1"], meaning="because")
    assert Approval.objects.count() == 0


# --- reject and cancel ------------------------------------------------------------------------------------
def test_one_rejection_ends_the_promotion(churn, people):
    p = request_and_check(people["requester"], target="production")
    approve(p, people["a1"])
    signatures.approval_reject(promotion_id=p.pk, user=people["a2"], password=PASSWORD, comment="not yet")
    p.refresh_from_db()
    assert p.state == "rejected"
    assert Approval.objects.get(reviewer=people["a2"]).decision == "reject"
    with pytest.raises(Conflict):
        approve(p, people["a3"])
    assert OutboxItem.objects.count() == 0
    # the refused late signature is audited after the rejection
    assert audit_actions(object_id=p.pk)[-2:] == ["promotion.rejected", "signature.refused"]


def test_reject_follows_segregation_of_duties_and_reauth(churn, people):
    p = request_and_check(people["requester"], target="production")
    with pytest.raises(NotAllowed):
        signatures.approval_reject(promotion_id=p.pk, user=people["requester"], password=PASSWORD)
    with pytest.raises(NotAllowed):
        signatures.approval_reject(promotion_id=p.pk, user=people["a1"], password="wrong")
    p.refresh_from_db()
    assert p.state == "awaiting_approval"


def test_requester_or_staff_may_cancel_others_may_not(churn, people):
    p = request_and_check(people["requester"])
    with pytest.raises(NotAllowed):
        cancel.cancel(promotion_id=p.pk, user=people["a1"])
    cancel.cancel(promotion_id=p.pk, user=people["staff"])
    p.refresh_from_db()
    assert p.state == "cancelled"
    with pytest.raises(Conflict):
        cancel.cancel(promotion_id=p.pk, user=people["requester"])


def test_cancelling_an_approved_promotion_closes_its_outbox_row(churn, people, fake_mlflow):
    p = request_and_check(people["requester"])
    approve(p, people["a1"])
    cancel.cancel(promotion_id=p.pk, user=people["requester"])
    assert OutboxItem.objects.get().outcome == "cancelled"
    assert run_outbox() == []
    assert fake_mlflow.writes == []


# --- selectors ----------------------------------------------------------------------------------------------
def test_signoffs_for_version_lists_promotions_with_signatures_and_gates(churn, people, fake_mlflow):
    import json

    p = request_and_check(people["requester"], version=2, target="production")
    approve(p, people["a1"], meaning="responsibility")
    mv = ModelVersion.objects.get(model__name="churn", version=2)
    out = selectors.signoffs_for_version(mv)
    json.dumps(out)
    assert [s["id"] for s in out] == [p.pk]
    s = out[0]
    assert s["approvals"][0]["printed_name"] == "ann"
    assert s["approvals"][0]["meaning"] == "responsibility"
    assert s["approvals"][0]["signed_hashes"]["gate_results_hash"].startswith("sha256:")
    assert [g["name"] for g in s["gates"]][:2] == ["version_ready", "signature_present"]
    assert s["gates"][0]["status"] == "passed"


def test_awaiting_me_lists_only_what_the_user_may_sign(churn, people, make_user):
    prod = request_and_check(people["requester"], version=2, target="production")
    stag = request_and_check(people["requester"], version=3, target="staging")
    assert set(selectors.awaiting_for(people["a1"]).values_list("pk", flat=True)) == {prod.pk, stag.pk}
    assert set(selectors.awaiting_for(people["reviewer"]).values_list("pk", flat=True)) == {stag.pk}
    assert not selectors.awaiting_for(people["requester"]).exists()
    approve(prod, people["a1"])
    assert set(selectors.awaiting_for(people["a1"]).values_list("pk", flat=True)) == {stag.pk}
    people["outsider"].groups.add(Group.objects.get(name="approvers"))
    assert prod.pk in set(selectors.awaiting_for(people["outsider"]).values_list("pk", flat=True))


def test_gate_rows_are_replaced_not_duplicated_on_recheck(churn, people):
    p = request_and_check(people["requester"])
    gating.recheck(promotion_id=p.pk, user=people["requester"])
    gating.run_gates(promotion_id=p.pk)
    assert GateResult.objects.filter(promotion=p).count() == 2
