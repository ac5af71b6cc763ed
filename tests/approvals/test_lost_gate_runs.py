"""The beat sweep of lost gate runs: a promotion still `checking` with no gate evaluated GATE_SWEEP_SECONDS after
its checks began (its worker was killed in the run, or its message was lost with Redis) is sent to a worker again;
one waiting for data is left alone until its wait is over; a run sent twice decides once; a request made while
the broker is down is answered 201 and its gate run left to the sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import Promotion
from approvals.workflow import gating, requests
from tests.support.governance import audit_actions, seed_model

pytestmark = pytest.mark.django_db


def _request(people, version=2, target="staging"):
    return requests.promotion_request(
        user=people["requester"], model_name="churn", version=version, target=target
    )


def _age(p, seconds):
    since = timezone.now() - timedelta(seconds=seconds)
    Promotion.objects.filter(pk=p.pk).update(requested_at=since, checking_since=since)


def test_a_gate_run_that_never_happened_is_sent_again_after_the_sweep_interval(
    churn, people, no_task_sends, settings
):
    settings.GATE_SWEEP_SECONDS = 30
    p = _request(people)
    assert gating.sweep_gates() == [] and no_task_sends == []  # just requested: its run is on its way
    _age(p, 31)
    assert gating.sweep_gates() == [p.pk]
    assert no_task_sends == [("gates", (p.pk,))]


def test_promotions_past_checking_are_not_swept(churn, people, no_task_sends, settings):
    settings.GATE_SWEEP_SECONDS = 1
    p = _request(people)
    gating.run_gates(promotion_id=p.pk)
    _age(p, 60)
    assert Promotion.objects.get(pk=p.pk).state == "awaiting_approval"
    assert gating.sweep_gates() == []


def test_a_promotion_waiting_for_data_is_swept_only_once_its_wait_is_over(
    policy_file, people, no_task_sends, settings, monkeypatch
):
    settings.GATE_SWEEP_SECONDS, settings.GATE_DATA_WAIT_SECONDS = 30, 300
    seed_model("churn", (1, 2), signed=False)  # the artifacts are not read: signature_present waits
    monkeypatch.setattr(gating, "_read_missing_artifacts", lambda promotion_id: None)
    p = _request(people)
    gating.run_gates(promotion_id=p.pk)
    assert Promotion.objects.get(pk=p.pk).state == "checking"
    since = timezone.now() - timedelta(seconds=200)
    Promotion.objects.filter(pk=p.pk).update(checking_since=since)
    p.gate_results.update(evaluated_at=since + timedelta(seconds=1))
    assert gating.sweep_gates() == []  # waiting, its own run at the end of the wait still to come
    _age(p, 331)
    assert gating.sweep_gates() == [p.pk]  # that run was lost too


def test_a_gate_run_sent_twice_decides_once(churn, people, no_task_sends):
    p = _request(people)
    gating.run_gates(promotion_id=p.pk)
    gating.run_gates(promotion_id=p.pk)
    actions = audit_actions(object_id=p.pk)
    assert actions.count("promotion.gates_evaluated") == 1
    assert actions.count("promotion.awaiting_approval") == 1


def test_beat_runs_the_gate_sweep(settings):
    assert (
        settings.CELERY_BEAT_SCHEDULE["sweep-promotion-gates"]["task"] == "approvals.tasks.sweep_gates_task"
    )


def test_a_request_while_the_broker_is_down_is_answered_and_left_to_the_sweep(
    churn, people, broker_down, django_capture_on_commit_callbacks, caplog
):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(people["requester"])
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(
            "/api/v1/promotions/", {"model": "churn", "version": 2, "target": "staging"}, format="json"
        )
    assert r.status_code == 201, r.content  # committed: a 500 here would make the client retry into a 409
    assert Promotion.objects.get(pk=r.json()["id"]).state == "checking"
    assert "the beat sweep will send it again" in caplog.text
