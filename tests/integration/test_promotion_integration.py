"""End to end against a real `mlflow server` and a real Celery worker: request → gates (worker) → two signatures
→ the worker moves the alias in MLflow; the same with MLflow stopped during the apply; drift after a direct
`set_registered_model_alias`."""

from __future__ import annotations

import time
import uuid

import pytest

from approvals.models import DriftRecord, OutboxItem
from approvals.workflow import requests, signatures
from tests.support.governance import PASSWORD, audit_actions
from tests.support.live import seed_small_model, state_of, sync_model, wait_for

# Slow (real MLflow and workers); on SQLite the same services run with a fake gateway (test_promotion_services).
pytestmark = [pytest.mark.mlflow, pytest.mark.celery, pytest.mark.postgres_pass_only]


def _request_and_sign(name, people, *, before_last_signature=None):
    p = requests.promotion_request(
        user=people["requester"],
        model_name=name,
        version=2,
        target="production",
        justification="better accuracy",
    )
    wait_for(lambda: state_of(p.pk) == "awaiting_approval", 60, "gates run by the worker")
    signatures.approval_grant(promotion_id=p.pk, user=people["a1"], password=PASSWORD)
    if before_last_signature:
        before_last_signature()
    signatures.approval_grant(promotion_id=p.pk, user=people["a2"], password=PASSWORD)
    return p


def test_two_approvals_move_the_alias_in_mlflow(
    policy_file, mlflow_uri, mlflow_client, governed, celery_worker_process
):
    name = f"wf-int-{uuid.uuid4().hex[:8]}"
    seed_small_model(mlflow_uri, name)
    sync_model(name)
    mlflow_client.set_registered_model_alias(name, "production", "1")
    sync_model(name)
    p = _request_and_sign(name, governed)
    assert p.previous_version == 1
    wait_for(lambda: state_of(p.pk) == "applied", 60, "the worker's apply")
    assert mlflow_client.get_registered_model(name).aliases["production"] == "2"
    p.refresh_from_db()
    assert p.applied_at is not None and p.previous_version == 1
    assert OutboxItem.objects.get(promotion=p).attempts == 1

    # Drift: someone moves the alias in MLflow directly; the next (webhook or reconcile) sync notices.
    mlflow_client.set_registered_model_alias(name, "production", "1")
    sync_model(name)
    d = DriftRecord.objects.get(model__name=name)
    assert (d.target, d.mlflow_version, d.approved_version, d.resolved_at) == ("production", 1, 2, None)
    from audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="drift.detected", object_id=str(d.pk)).exists()
    mlflow_client.set_registered_model_alias(name, "production", "2")
    sync_model(name)
    d.refresh_from_db()
    assert d.resolved_at is not None


def test_mlflow_down_during_the_apply_delays_it_and_it_applies_once_after(
    policy_file, own_mlflow, governed, celery_worker_process
):
    from mlflow.tracking import MlflowClient

    name = f"wf-down-{uuid.uuid4().hex[:8]}"
    seed_small_model(own_mlflow.uri, name)
    sync_model(name)
    p = _request_and_sign(name, governed, before_last_signature=own_mlflow.stop)
    wait_for(
        lambda: OutboxItem.objects.filter(promotion=p, attempts__gte=1).exclude(last_error="").exists(),
        60,
        "a failed attempt while MLflow is down",
    )
    assert state_of(p.pk) == "applying"
    time.sleep(3)
    assert state_of(p.pk) == "applying"
    own_mlflow.start()
    wait_for(lambda: state_of(p.pk) == "applied", 120, "the apply after MLflow came back")
    client = MlflowClient(tracking_uri=own_mlflow.uri, registry_uri=own_mlflow.uri)
    assert client.get_registered_model(name).aliases["production"] == "2"
    assert audit_actions(object_id=p.pk).count("promotion.applied") == 1
    item = OutboxItem.objects.get(promotion=p)
    assert item.attempts >= 2 and item.done_at is not None
