"""Service tests of the promotion workflow's apply: the alias moved and confirmed with history, retried while
MLflow is down or refusing, a failed promotion cancelled, stage targets archiving the previous holder, the
sweep re-enqueuing due items."""

from __future__ import annotations

import pytest

from approvals.models import OutboxItem, TargetHolding
from approvals.workflow import cancel, outbox
from mirror.models import ModelVersion
from tests.support.governance import (
    approve,
    audit_actions,
    request_and_check,
    run_outbox,
)

pytestmark = pytest.mark.django_db


# --- apply -------------------------------------------------------------------------------------------------
def test_apply_moves_the_alias_confirms_and_records_history(churn, people, fake_mlflow):
    fake_mlflow.aliases[("churn", "production")] = 1
    p = request_and_check(people["requester"], version=2, target="production")
    approve(p, people["a1"])
    approve(p, people["a2"])
    assert run_outbox(p) == ["applied"]
    assert p.state == "applied" and p.applied_at and p.previous_version == 1
    assert fake_mlflow.aliases[("churn", "production")] == 2
    assert fake_mlflow.writes == [("alias", "churn", "production", 2)]
    holding = TargetHolding.objects.get(model__name="churn", target="production", held_to__isnull=True)
    assert (holding.version, holding.promotion_id) == (2, p.pk)
    assert audit_actions(object_id=p.pk)[-2:] == ["promotion.applying", "promotion.applied"]
    # idempotent: a second delivery of the task changes nothing
    item = OutboxItem.objects.get()
    assert outbox.apply(outbox_id=item.pk)[0] == "done"
    assert len(fake_mlflow.writes) == 1


def test_apply_retries_while_mlflow_is_down_then_applies_once(churn, people, fake_mlflow):
    p = request_and_check(people["requester"])
    approve(p, people["a1"])
    fake_mlflow.down = True
    item = OutboxItem.objects.get()
    outcome, retry_in = outbox.apply(outbox_id=item.pk)
    assert (outcome, retry_in) == ("retry", 2.0)
    p.refresh_from_db()
    assert p.state == "applying" and "unavailable" in p.error
    item.refresh_from_db()
    assert item.attempts == 1 and item.done_at is None and item.last_error
    # not due yet: a duplicate message is skipped
    assert outbox.apply(outbox_id=item.pk)[0] == "skipped"
    fake_mlflow.down = False
    assert run_outbox(p) == ["applied"]
    assert p.state == "applied" and p.error == ""
    assert fake_mlflow.writes == [("alias", "churn", "staging", 2)]


def test_mlflow_refusal_marks_failed_and_is_retried_until_success(churn, people, fake_mlflow):
    p = request_and_check(people["requester"])
    approve(p, people["a1"])
    fake_mlflow.reject = True
    assert run_outbox(p) == ["failed"]
    assert p.state == "failed" and "refused" in p.error
    assert OutboxItem.objects.get().done_at is None  # never silently dropped
    assert "promotion.apply_failed" in audit_actions(object_id=p.pk)
    fake_mlflow.reject = False
    assert run_outbox(p) == ["applied"]
    assert p.state == "applied"


def test_a_failed_promotion_can_be_cancelled(churn, people, fake_mlflow):
    p = request_and_check(people["requester"])
    approve(p, people["a1"])
    fake_mlflow.reject = True
    run_outbox(p)
    cancel.cancel(promotion_id=p.pk, user=people["requester"])
    p.refresh_from_db()
    assert p.state == "cancelled"
    assert OutboxItem.objects.get().outcome == "cancelled"


def test_stage_target_transitions_and_archives_the_previous_holder(churn, people, fake_mlflow):
    fake_mlflow.stages[("churn", 1)] = "Production"
    ModelVersion.objects.filter(model__name="churn", version=1).update(stage="Production")
    p = request_and_check(people["requester"], version=2, target="legacy")
    assert p.previous_version == 1
    approve(p, people["a1"])
    assert run_outbox(p) == ["applied"]
    assert fake_mlflow.stages == {("churn", 1): "Archived", ("churn", 2): "Production"}


def test_sweep_reenqueues_due_items(churn, people, fake_mlflow, monkeypatch):
    from approvals import tasks

    sent = []
    monkeypatch.setattr(tasks.apply_outbox_task, "delay", lambda pk: sent.append(pk))
    p = request_and_check(people["requester"])
    approve(p, people["a1"])
    assert outbox.sweep_outbox() == [OutboxItem.objects.get().pk]
    assert sent == [OutboxItem.objects.get().pk]
