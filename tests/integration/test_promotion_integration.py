# ruff: noqa: F811  (pytest fixtures imported from tests.approvals.test_approvals_helpers)
"""End to end against a real `mlflow server` and a real Celery worker: request → gates (worker) → two signatures
→ the worker moves the alias in MLflow; the same with MLflow stopped during the apply; drift after a direct
`set_registered_model_alias`."""

from __future__ import annotations

import time
import uuid

import pytest

from approvals.models import DriftRecord, OutboxItem, Promotion
from approvals.workflow import requests, signatures
from mirror.models import ModelVersion, SyncRun
from tests.approvals.test_approvals_helpers import PASSWORD, TEST_POLICY, fast_hashes, role_groups  # noqa: F401

# Slow (real MLflow and workers); on SQLite the same services run with a fake gateway (test_promotion_services).
pytestmark = [pytest.mark.mlflow, pytest.mark.celery, pytest.mark.postgres_pass_only]


def seed_small_model(uri: str, name: str, accuracies=(0.7, 0.9)) -> None:
    """Real versions of a tiny scikit-learn model, logged with signatures, tagged like a governed model."""
    import mlflow
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    X, y = load_iris(return_X_y=True, as_frame=True)
    mlflow.set_experiment(f"exp-{name}")
    model = LogisticRegression(max_iter=200).fit(X, y)
    signature = infer_signature(X, model.predict(X))
    for acc in accuracies:
        with mlflow.start_run():
            mlflow.log_metric("acc", acc)
            # Explicit requirements: inferring them takes tens of seconds per model.
            mlflow.sklearn.log_model(
                model,
                name="model",
                signature=signature,
                registered_model_name=name,
                pip_requirements=["scikit-learn"],
            )
    client.set_registered_model_tag(name, "primary_metric", "acc")
    for mv in client.search_model_versions(f"name='{name}'"):
        client.set_model_version_tag(name, mv.version, "data_validated", "true")


def sync_model(name: str) -> None:
    from mirror.services import read_version_artifacts
    from mirror.sync import execute_sync

    run = execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.WEBHOOK, model_name=name).pk)
    assert run.status == "succeeded", run.error
    for pk in ModelVersion.objects.filter(model__name=name, artifacts_read_at__isnull=True).values_list(
        "pk", flat=True
    ):
        read_version_artifacts(model_version_id=pk)


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def state_of(pk):
    return Promotion.objects.get(pk=pk).state


@pytest.fixture
def worker_policy(settings, tmp_path, monkeypatch):
    """The test policy, for this process and for the worker subprocess (started after this fixture)."""
    from approvals import policy

    path = tmp_path / "policies.yaml"
    path.write_text(TEST_POLICY)
    settings.POLICY_PATH = str(path)
    monkeypatch.setenv("POLICY_PATH", str(path))
    policy.clear_cache()
    yield path
    policy.clear_cache()


@pytest.fixture
def governed(role_groups, fast_hashes, make_user):
    return {
        "requester": make_user("rita", "ml-engineers"),
        "a1": make_user("ann", "approvers"),
        "a2": make_user("bob", "approvers"),
    }


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
    worker_policy, mlflow_uri, mlflow_client, governed, celery_worker_process
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


@pytest.fixture
def own_mlflow(tmp_path_factory, settings):
    """A private MLflow server, so stopping it does not disturb the rest of the session."""
    from demo.mlflow_process import MlflowServer

    server = MlflowServer(tmp_path_factory.mktemp("wf-mlflow")).start()
    settings.MLFLOW_TRACKING_URI = server.uri
    settings.MLFLOW_UI_URL = server.uri
    yield server
    server.stop()


def test_mlflow_down_during_the_apply_delays_it_and_it_applies_once_after(
    worker_policy, own_mlflow, governed, celery_worker_process
):
    from mlflow.tracking import MlflowClient

    from audit.models import AuditEvent

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
    assert (
        AuditEvent.objects.filter(
            object_type="promotion", object_id=str(p.pk), action="promotion.applied"
        ).count()
        == 1
    )
    item = OutboxItem.objects.get(promotion=p)
    assert item.attempts >= 2 and item.done_at is not None
