"""Helpers of the tests against a real `mlflow server` and a real Celery worker: a tiny real model registered in
MLflow, a sync of one model with its artifacts read, waiting for what the worker does."""

from __future__ import annotations

import time

from approvals.models import Promotion
from mirror.models import ModelVersion, SyncRun


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
