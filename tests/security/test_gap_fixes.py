"""Gaps left after the trust-holes and first-hour fixes: each reproduced, and shown closed."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.utils.html import escape

from approvals.workflow import drift, gating
from audit.verification import verify
from mirror.models import ModelVersion
from mirror.sync import apply_snapshot
from tests.factories import mlflow_model, mlflow_version, snapshot
from tests.support.governance import approve, change_version_after_signing, request_and_check, seed_model

pytestmark = pytest.mark.django_db


# --- 1. card exports tell superseded signatures from the ones that count ------------------------------------
@pytest.fixture
def one_superseded(policy_file, people, fake_mlflow):
    """ann signs; the version changes (gates still pass), so her signature no longer counts; bob signs after."""
    seed_model("churn", (1, 2, 3), aliases={"production": 1})
    p = request_and_check(people["requester"], version=2, target="production")
    approve(p, people["a1"])
    change_version_after_signing()
    approve(p, people["a2"])
    assert p.state == "awaiting_approval"
    ann = p.approvals.get(reviewer=people["a1"])
    assert ann.superseded_at is not None and "model version" in ann.superseded_reason
    return ModelVersion.objects.select_related("model", "source_run").get(model__name="churn", version=2), ann


def _export(mv, fmt):
    from cards import exports
    from cards.services import ensure_card

    return exports.export_card(mv, ensure_card(mv=mv), fmt).content


@pytest.mark.parametrize(
    "fmt, cell, as_written",
    [
        ("md", "| {} |", lambda text: text.replace("\n", " ")),
        ("html", "<td>{}</td>", lambda text: escape(text)),
    ],
)
def test_an_export_lists_a_superseded_signature_apart_with_its_reason(one_superseded, fmt, cell, as_written):
    mv, ann = one_superseded
    text = _export(mv, fmt).decode()
    counting, _, superseded = text.partition("no longer count")
    assert cell.format("bob") in counting and cell.format("ann") not in counting
    assert cell.format("ann") in superseded and cell.format("bob") not in superseded
    assert as_written(ann.superseded_reason)[:60] in superseded


def test_pdf_export_lists_a_superseded_signature_apart(one_superseded):
    from tests.support.pdf import pdf_text

    mv, _ann = one_superseded
    text = pdf_text(_export(mv, "pdf"))
    counting, _, superseded = text.partition("no longer count")
    assert "bob" in counting and "ann" not in counting
    assert "ann" in superseded and "model version" in superseded.replace("\n", " ")


# --- 4. the evidence pack says how each holder came to hold the target --------------------------------------
def _unzip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_evidence_pack_says_how_each_holder_came_to_hold_the_target(client, make_user, policy_file, people):
    from approvals.workflow.holdings import holder_adopt

    seed_model("churn", (1, 2))
    mvs = [mlflow_version("churn", v, aliases=["production"] if v == 1 else []) for v in (1, 2)]
    result = apply_snapshot(
        snapshot([mlflow_model("churn", aliases={"production": 1}, tags={"primary_metric": "acc"})], mvs)
    )
    drift.on_sync(sync_run_id=None, result=result)  # the sync observes v1 holding production
    holder_adopt(
        user=people["staff"], model_name="churn", target="production", justification="before the app"
    )
    client.force_login(make_user("audrey", "auditors"))
    index = json.loads(_unzip(client.get("/api/v1/evidence/?target=production")).read("index.json"))
    [entry] = index["versions"]
    [held] = entry["held"]
    assert (held["source"], held["adopted_by"]) == ("observed", "stan")
    assert held["adopted_at"] and held["promotion_id"] is None


# --- 3. every password change is on the audit chain, with who made it (never the hash) ----------------------
def _password_events(username: str) -> list[tuple[str, dict]]:
    from audit.models import AuditEvent

    return [
        (e.actor, e.data)
        for e in AuditEvent.objects.filter(action="user.password_changed", object_id=username).order_by("seq")
    ]


def _no_hash_in_chain(*hashes: str) -> None:
    from audit.models import AuditEvent

    text = json.dumps(list(AuditEvent.objects.values("data", "actor", "object_id")), default=str)
    for h in hashes:
        assert h.split("$")[-1] not in text


def test_a_password_an_admin_sets_for_another_user_is_audited_with_the_admin_as_actor(
    admin_client, make_user
):
    ann = make_user("ann", "approvers")
    old_hash = ann.password
    response = admin_client.post(
        f"/admin/auth/user/{ann.pk}/password/",
        {
            "password1": "a-Long-pass-phrase-42",
            "password2": "a-Long-pass-phrase-42",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ann.refresh_from_db()
    assert ann.password != old_hash
    assert _password_events("ann") == [("root", {"user_id": ann.pk, "by_the_user": False, "usable": True})]
    _no_hash_in_chain(old_hash, ann.password)
    assert verify().ok


def test_a_password_changed_with_the_changepassword_command_is_audited(make_user, monkeypatch):
    from django.contrib.auth.management.commands import changepassword

    bob = make_user("bob")
    monkeypatch.setattr(changepassword.getpass, "getpass", lambda prompt="": "a-Long-pass-phrase-42")
    call_command("changepassword", "bob", stdout=io.StringIO())
    bob.refresh_from_db()
    assert bob.check_password("a-Long-pass-phrase-42")
    assert _password_events("bob") == [("system", {"user_id": bob.pk, "by_the_user": False, "usable": True})]
    _no_hash_in_chain(bob.password)


def test_a_user_changing_their_own_password_is_audited_as_their_own_change(client, make_user):
    stan = make_user("stan", staff=True)
    client.force_login(stan)
    response = client.post(
        "/admin/password_change/",
        {
            "old_password": "pw-correct-horse",
            "new_password1": "a-Long-pass-phrase-42",
            "new_password2": "a-Long-pass-phrase-42",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    stan.refresh_from_db()
    assert _password_events("stan") == [("stan", {"user_id": stan.pk, "by_the_user": True, "usable": True})]
    _no_hash_in_chain(stan.password)


def test_saving_a_user_without_changing_the_password_records_no_password_event(make_user):
    dan = make_user("dan")
    dan.first_name = "Dan"
    dan.save()
    dan.is_staff = True
    dan.save(update_fields=["is_staff"])
    assert _password_events("dan") == []


# --- 2. a card not drafted yet keeps model_card_complete pending, not failed ---------------------------------
CARD_POLICY = """
version: 1
targets:
  carded:
    mlflow: {alias: carded}
    approvals: 1
    approver_groups: [approvers]
    gates:
      - version_ready
      - model_card_complete: {threshold: 0}
"""


@pytest.fixture
def card_policy(use_policy):
    return use_policy(CARD_POLICY)


def _card_gate(p):
    from approvals.models import GateResult

    return GateResult.objects.get(promotion=p, name="model_card_complete")


def test_a_card_not_drafted_yet_keeps_its_gate_pending_instead_of_failing(card_policy, people):
    from audit.models import AuditEvent

    seed_model("churn", (1, 2))  # mirrored; the worker has not drafted the cards yet
    p = request_and_check(people["requester"], version=2, target="carded")
    assert p.state == "checking"
    gate = _card_gate(p)
    assert (gate.status, gate.observed) == ("pending", "not drafted yet")
    actions = set(AuditEvent.objects.filter(object_id=str(p.pk)).values_list("action", flat=True))
    assert "promotion.gates_waiting" in actions and "promotion.blocked" not in actions


def test_a_waiting_promotion_runs_its_gates_again_when_the_card_is_drafted(
    card_policy, people, monkeypatch, django_capture_on_commit_callbacks
):
    from cards.services import draft_cards

    seed_model("churn", (1, 2))
    p = request_and_check(people["requester"], version=2, target="carded")
    assert p.state == "checking"
    rerun = []
    monkeypatch.setattr("approvals.tasks.run_gates_task.delay", lambda pk: rerun.append(pk))
    with django_capture_on_commit_callbacks(execute=True):
        draft_cards(version_ids=[p.version_id])  # what the worker does right after the sync
    assert rerun == [p.pk]
    gating.run_gates(promotion_id=p.pk)
    p.refresh_from_db()
    assert p.state == "awaiting_approval"
    assert _card_gate(p).status == "passed"


def test_a_card_still_not_drafted_after_the_bound_fails_the_gate_with_a_clear_reason(
    card_policy, people, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from approvals.models import Promotion

    settings.GATE_DATA_WAIT_SECONDS = 60
    seed_model("churn", (1, 2))
    p = request_and_check(people["requester"], version=2, target="carded")
    Promotion.objects.filter(pk=p.pk).update(checking_since=timezone.now() - timedelta(seconds=61))
    gating.run_gates(promotion_id=p.pk)
    p.refresh_from_db()
    assert p.state == "blocked"
    gate = _card_gate(p)
    assert gate.status == "failed" and gate.observed == "not drafted yet"
    assert "not been drafted" in gate.detail and "60 s" in gate.detail
    assert "card-drafting worker" in gate.detail and "artifacts" not in gate.detail
