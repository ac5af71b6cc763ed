"""Real MLflow webhooks → our receiver (live server) → Redis → a real Celery worker → the mirror,
without waiting for the reconcile."""

import time
import uuid

import pytest

from mirror import gateway
from mirror.models import ModelVersion, RegisteredModel, SyncRun

pytestmark = [pytest.mark.mlflow, pytest.mark.celery]


def wait_for(predicate, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


@pytest.fixture
def webhook(live_server, mlflow_uri, mlflow_client, settings):
    settings.MLFLOW_WEBHOOK_SECRET = "integration-secret"
    hook_id, _ = gateway.register_webhook(
        f"{live_server.url}/webhooks/mlflow/",
        settings.MLFLOW_WEBHOOK_SECRET,
        name=f"test-{uuid.uuid4().hex[:6]}",
    )
    time.sleep(1.5)  # the server caches its webhook list for MLFLOW_WEBHOOK_CACHE_TTL (1 s in tests)
    yield hook_id
    mlflow_client.delete_webhook(hook_id)


def test_new_version_and_alias_move_reach_the_mirror_through_webhooks(
    webhook, celery_worker_process, mlflow_client
):
    name = f"webhook-model-{uuid.uuid4().hex[:6]}"
    experiment = mlflow_client.create_experiment(name)
    mlflow_client.create_registered_model(name)
    assert wait_for(lambda: RegisteredModel.objects.live().filter(name=name).exists()), "model never mirrored"

    run = mlflow_client.create_run(experiment)
    mlflow_client.log_metric(run.info.run_id, "acc", 0.75)
    mlflow_client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    mirrored = wait_for(lambda: ModelVersion.objects.live().filter(model__name=name, version=1).first())
    assert mirrored is not None, "version never mirrored"
    assert mirrored.source_run.metrics == {"acc": 0.75}

    mlflow_client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    mlflow_client.set_registered_model_alias(name, "production", "1")
    assert wait_for(lambda: RegisteredModel.objects.filter(name=name, aliases={"production": 1}).exists())
    mlflow_client.set_registered_model_alias(name, "production", "2")
    assert wait_for(lambda: RegisteredModel.objects.filter(name=name, aliases={"production": 2}).exists())
    assert ModelVersion.objects.get(model__name=name, version=2).aliases == ["production"]

    kinds = set(SyncRun.objects.values_list("kind", flat=True))
    assert kinds == {"webhook"}, "the mirror must be fed by the webhook path alone here"
