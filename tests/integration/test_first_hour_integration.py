"""End to end with a real `mlflow server` and a real Celery worker: a pipeline registers a version and asks for its
promotion at once, before the version's artifacts could be read. The gates wait (the promotion stays `checking`,
`signature_present` is `pending`), and pass once the artifacts are read — never `blocked` on data not arrived."""

from __future__ import annotations

import time
import uuid

import pytest

from approvals.models import GateResult, TargetHolding
from approvals.workflow import requests
from audit.models import AuditEvent
from mirror.models import ModelVersion, SyncRun
from tests.support.live import seed_small_model, state_of, wait_for

pytestmark = [pytest.mark.mlflow, pytest.mark.celery, pytest.mark.postgres_pass_only]


def test_a_promotion_requested_right_after_registration_waits_for_the_artifacts_then_passes(
    policy_file, own_mlflow, governed, celery_worker_process
):
    from mirror.sync import execute_sync

    name = f"first-hour-{uuid.uuid4().hex[:8]}"
    seed_small_model(own_mlflow.uri, name)
    # The webhook sync right after registration: versions and aliases mirrored, artifact reads queued.
    run = execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.WEBHOOK, model_name=name).pk)
    assert run.status == "succeeded", run.error
    # MLflow's artifact store is slow to answer (here: gone for a moment) — the artifacts cannot be read yet.
    own_mlflow.stop()
    ModelVersion.objects.filter(model__name=name).update(
        artifacts_read_at=None, signature=None, content_hash=None, flavors=[]
    )
    p = requests.promotion_request(
        user=governed["requester"], model_name=name, version=2, target="staging", justification="ship it"
    )

    def waiting():
        gate = GateResult.objects.filter(promotion=p, name="signature_present").first()
        return gate is not None and gate.evaluated_at is not None and gate.status == "pending"

    wait_for(waiting, 60, "the worker's gate run to wait for the artifacts")
    time.sleep(2)
    assert state_of(p.pk) == "checking"

    own_mlflow.start()
    # The version's artifacts are read (the queued read retries, or a sync's read); the waiting gates run again.
    from mirror.tasks import read_version_artifacts_task

    read_version_artifacts_task.delay([p.version_id])
    wait_for(
        lambda: state_of(p.pk) == "awaiting_approval", 120, "the gates to pass once the artifacts are read"
    )
    gate = GateResult.objects.get(promotion=p, name="signature_present")
    assert (gate.status, gate.observed) == ("passed", "present")
    actions = list(
        AuditEvent.objects.filter(object_type="promotion", object_id=str(p.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert "promotion.gates_waiting" in actions and "promotion.blocked" not in actions
    mv = ModelVersion.objects.get(pk=p.version_id)
    assert mv.content_hash and mv.signature


def test_the_first_sync_records_what_held_the_target_before_any_promotion(
    policy_file, own_mlflow, governed, celery_worker_process
):
    from mlflow.tracking import MlflowClient

    from mirror.sync import execute_sync

    name = f"first-hour-held-{uuid.uuid4().hex[:8]}"
    seed_small_model(own_mlflow.uri, name)
    MlflowClient(tracking_uri=own_mlflow.uri).set_registered_model_alias(name, "production", "1")
    run = execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk)
    assert run.status == "succeeded", run.error
    [h] = TargetHolding.objects.filter(model__name=name, target="production")
    assert (h.version, h.source, h.held_to, h.promotion_id) == (1, "observed", None, None)
