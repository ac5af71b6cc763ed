"""The first hour with the app: a version promoted right after it was registered, a target held before the app's
first promotion, a no-op request, a drift resolved — each decided on facts, and each on the audit chain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import selectors
from approvals.models import DriftRecord, GateResult, Promotion, TargetHolding
from approvals.workflow import gating, requests, rollback
from common.errors import Conflict, MlflowUnavailable, NotAllowed
from mirror import gateway
from mirror.models import ModelVersion, RegisteredModel
from tests.support.governance import (
    approve,
    audit_actions,
    mirror_alias,
    promote_and_apply,
    request_and_check,
    run_outbox,
    seed_model,
)

pytestmark = pytest.mark.django_db


def _unread(name="churn", version=2):
    ModelVersion.objects.filter(model__name=name, version=version).update(
        signature=None, artifacts_read_at=None, content_hash=None, flavors=[]
    )


@pytest.fixture
def mlflow_down(monkeypatch):
    def refuse(name, version):
        raise MlflowUnavailable("connection refused (test)")

    monkeypatch.setattr(gateway, "read_version_artifacts", refuse)


@pytest.fixture
def artifacts_with_signature(monkeypatch):
    reads = []

    def read(name, version):
        reads.append((name, version))
        return gateway.VersionArtifacts(
            content_hash="sha256:" + "ab" * 32,
            signature={"inputs": [{"name": "x", "type": "double"}], "outputs": []},
            flavors=["python_function", "sklearn"],
            input_example=None,
        )

    monkeypatch.setattr(gateway, "read_version_artifacts", read)
    return reads


# --- 2. gates wait for data that has not arrived ------------------------------------------------------------
def test_a_gate_whose_artifacts_are_not_read_yet_waits_instead_of_blocking(policy_file, people, mlflow_down):
    seed_model("churn", (1, 2))
    _unread()
    p = request_and_check(people["requester"], version=2, target="staging")
    assert p.state == "checking"
    gate = GateResult.objects.get(promotion=p, name="signature_present")
    assert (gate.status, gate.observed) == ("pending", "not read yet")
    assert "promotion.blocked" not in audit_actions(object_id=p.pk)
    assert "promotion.gates_waiting" in audit_actions(object_id=p.pk)


def test_the_gate_run_reads_missing_artifacts_itself(policy_file, people, artifacts_with_signature):
    seed_model("churn", (1, 2))
    _unread()
    p = request_and_check(people["requester"], version=2, target="staging")
    assert artifacts_with_signature == [("churn", 2)]
    assert p.state == "awaiting_approval"
    assert GateResult.objects.get(promotion=p, name="signature_present").status == "passed"


def test_a_waiting_promotion_runs_its_gates_again_when_the_artifacts_are_read(
    policy_file, people, mlflow_down, monkeypatch, django_capture_on_commit_callbacks
):
    from mirror.services import read_version_artifacts

    seed_model("churn", (1, 2))
    _unread()
    p = request_and_check(people["requester"], version=2, target="staging")
    assert p.state == "checking"
    rerun = []
    monkeypatch.setattr("approvals.tasks.run_gates_task.delay", lambda pk: rerun.append(pk))
    monkeypatch.setattr(
        gateway,
        "read_version_artifacts",
        lambda name, version: gateway.VersionArtifacts(
            "sha256:" + "cd" * 32, {"inputs": []}, ["sklearn"], None
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        read_version_artifacts(model_version_id=p.version_id)  # the batch read after the sync
    assert rerun == [p.pk]
    gating.run_gates(promotion_id=p.pk)
    p.refresh_from_db()
    assert p.state == "awaiting_approval"


def test_a_gate_waiting_past_the_bound_fails_with_a_clear_reason(policy_file, people, mlflow_down, settings):
    settings.GATE_DATA_WAIT_SECONDS = 60
    seed_model("churn", (1, 2))
    _unread()
    p = request_and_check(people["requester"], version=2, target="staging")
    assert p.state == "checking"
    Promotion.objects.filter(pk=p.pk).update(checking_since=timezone.now() - timedelta(seconds=61))
    gating.run_gates(promotion_id=p.pk)
    p.refresh_from_db()
    assert p.state == "blocked"
    gate = GateResult.objects.get(promotion=p, name="signature_present")
    assert gate.status == "failed" and "60 s" in gate.detail and "not arrived" in gate.detail


def test_a_known_failure_still_blocks_at_once_while_another_gate_waits(policy_file, people, mlflow_down):
    seed_model("churn", (1, 2), version_tags={2: {}})
    _unread()
    p = request_and_check(people["requester"], version=2, target="production")
    assert p.state == "blocked"
    assert GateResult.objects.get(promotion=p, name="required_tags").status == "failed"


def test_a_drafted_card_is_regenerated_when_the_artifacts_arrive(policy_file, monkeypatch):
    from cards import services as cards
    from cards.selectors import latest_revision
    from mirror.services import read_version_artifacts

    seed_model("churn", (1,))
    _unread(version=1)
    mv = ModelVersion.objects.get(model__name="churn", version=1)
    first = cards.ensure_card(mv=mv)
    assert "logged without a signature" not in first.markdown  # unknown is not "absent"
    placeholder = "_To be written: known limitations, and recommendations for the people deploying or relying on the model._"
    human = first.markdown.replace(placeholder, "Our own words.", 1)
    assert human != first.markdown
    edited = cards.save_card(mv=mv, markdown=human, author="rita", base_revision=first.revision)
    monkeypatch.setattr(
        gateway,
        "read_version_artifacts",
        lambda name, version: gateway.VersionArtifacts(
            "sha256:" + "ef" * 32,
            {"inputs": [{"name": "x", "type": "double"}], "outputs": []},
            ["sklearn"],
            None,
        ),
    )
    read_version_artifacts(model_version_id=mv.pk)
    rev = latest_revision(mv)
    assert rev.revision == edited.revision + 1 and rev.author == "system"
    assert "sha256:" + "ef" * 32 in rev.markdown and "sklearn" in rev.markdown
    assert "Our own words." in rev.markdown
    assert "card.revised" in audit_actions("model_version", "churn/1")


# --- 6. a no-op promotion is refused up front ------------------------------------------------------------------
def test_promoting_the_version_that_holds_the_target_is_refused_with_409(policy_file, people, api):
    seed_model("churn", (1, 2), aliases={"production": 2})
    mirror_alias("churn", {"production": 2}, versions=(1, 2))
    api.force_authenticate(people["requester"])
    res = api.post(
        "/api/v1/promotions/", {"model": "churn", "version": 2, "target": "production"}, format="json"
    )
    assert res.status_code == 409
    body = res.json()
    assert "v2 already holds production" in body["detail"] and "observed in MLflow" in body["detail"]
    assert (body["holder_version"], body["source"]) == (2, "observed")
    assert Promotion.objects.count() == 0


def test_a_version_this_app_just_moved_away_can_be_promoted_back_before_the_mirror_reads_mlflow(
    policy_file, people, fake_mlflow
):
    seed_model("churn", (1, 2), aliases={"staging": 1})
    mirror_alias("churn", {"staging": 1}, versions=(1, 2))
    promote_and_apply(people["requester"], [people["a1"]], version=2, target="staging")
    # The apply's own sync has not run: the mirror still shows v1 in staging, MLflow has v2.
    assert RegisteredModel.objects.get(name="churn").aliases == {"staging": 1}
    with pytest.raises(Conflict, match="v2 already holds staging"):
        requests.promotion_request(user=people["requester"], model_name="churn", version=2, target="staging")
    p = requests.promotion_request(user=people["requester"], model_name="churn", version=1, target="staging")
    assert p.state == Promotion.State.CHECKING and p.previous_version == 2


def test_a_second_open_request_names_the_conflicting_promotion(policy_file, people):
    seed_model("churn", (1, 2))
    p = requests.promotion_request(user=people["requester"], model_name="churn", version=2, target="staging")
    with pytest.raises(Conflict) as exc:
        requests.promotion_request(user=people["requester"], model_name="churn", version=2, target="staging")
    assert exc.value.extra["promotion_id"] == p.pk and f"#{p.pk}" in str(exc.value)


def test_staff_adopts_a_holder_set_outside_the_app_and_drift_is_measured_against_it(policy_file, people):
    seed_model("churn", (1, 2, 3))
    mirror_alias("churn", {"production": 2})
    with pytest.raises(NotAllowed):
        services_adopt(people["requester"])
    h = services_adopt(people["staff"])
    assert (h.version, h.adopted_by, h.source) == (2, people["staff"], "observed")
    assert "holding.adopted" in audit_actions("model", "churn")
    mirror_alias("churn", {"production": 3})
    d = DriftRecord.objects.get()
    assert (d.mlflow_version, d.approved_version) == (3, 2)
    with pytest.raises(Conflict):
        services_adopt(people["staff"], target="staging")  # nothing holds staging


def services_adopt(user, target="production"):
    from approvals.workflow.holdings import holder_adopt

    return holder_adopt(user=user, model_name="churn", target=target, justification="set up before the app")


# --- 11. every drift resolution is on the chain --------------------------------------------------------------
def test_drift_resolved_by_a_later_promotion_is_audited(applied, people):
    mirror_alias("churn", {"staging": 3})
    d = DriftRecord.objects.get()
    p = request_and_check(people["requester"], version=1, target="staging")
    approve(p, people["a1"])
    assert run_outbox(p) == ["applied"]
    d.refresh_from_db()
    assert d.resolved_at is not None
    assert audit_actions("drift", d.pk) == ["drift.detected", "drift.resolved"]


def test_drift_superseded_by_a_new_move_is_audited(applied):
    mirror_alias("churn", {"staging": 3})
    mirror_alias("churn", {"staging": 1})
    first, second = DriftRecord.objects.order_by("pk")
    assert first.resolved_at is not None and second.resolved_at is None
    assert audit_actions("drift", first.pk) == ["drift.detected", "drift.resolved"]


def test_adopting_the_drifted_holder_resolves_the_drift_on_the_chain(applied, people):
    mirror_alias("churn", {"staging": 3})
    d = DriftRecord.objects.get()
    services_adopt(people["staff"], target="staging")
    d.refresh_from_db()
    assert d.resolved_at is not None
    assert audit_actions("drift", d.pk) == ["drift.detected", "drift.resolved"]


# --- 3. history remembers what happened before the first promotion ----------------------------------------------
def test_the_first_sync_records_observed_holders_and_history_answers_for_any_time(policy_file, people):
    seed_model("churn", (1, 2, 3))
    before = timezone.now()
    mirror_alias("churn", {"production": 1})
    model = RegisteredModel.objects.get(name="churn")
    [entry] = selectors.history(model, "production")
    assert (entry["version"], entry["source"], entry["promotion_id"], entry["to"]) == (
        1,
        "observed",
        None,
        None,
    )
    assert "holding.observed" in audit_actions("model", "churn")
    later = timezone.now()
    mirror_alias("churn", {"production": 2})
    assert selectors.history_at(model, "production", later)["version"] == 1
    assert selectors.history_at(model, "production", timezone.now())["version"] == 2
    assert selectors.history_at(model, "production", before - timedelta(seconds=1)) is None
    # the rollback offers the holder observed before the app's first promotion
    model.refresh_from_db()
    assert rollback.rollback_default_version(
        model=model, target="production", mlflow_target={"alias": "production"}
    ) == (2, 1)


def test_history_api_answers_at_a_time(policy_file, people, api):
    seed_model("churn", (1, 2, 3))
    mirror_alias("churn", {"production": 1})
    t = timezone.now()
    mirror_alias("churn", {"production": 2})
    res = api.get("/api/v1/models/churn/history", {"target": "production", "at": t.isoformat()})
    assert res.status_code == 200, res.content
    assert (res.json()["version"], res.json()["source"]) == (1, "observed")
    res = api.get("/api/v1/models/churn/history", {"target": "production", "at": "2001-01-01T00:00:00Z"})
    assert res.status_code == 404
    res = api.get("/api/v1/models/churn/history", {"target": "production", "at": "yesterday"})
    assert res.status_code == 400
    sources = [e["source"] for e in api.get("/api/v1/models/churn/history", {"target": "production"}).json()]
    assert sources == ["observed", "observed"]


def test_observed_holders_are_not_recorded_twice_and_governed_targets_are_left_to_drift(applied):
    before = TargetHolding.objects.count()
    mirror_alias("churn", {"staging": 2})
    assert TargetHolding.objects.count() == before
    mirror_alias("churn", {"staging": 3})
    assert list(
        TargetHolding.objects.filter(target="staging").order_by("pk").values_list("version", "source")
    ) == [(2, "promotion"), (3, "drift")]
