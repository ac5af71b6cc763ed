"""A packaging job whose worker is SIGKILLed mid-way is taken over by a second worker once its lease runs out,
and finishes exactly once: real Celery workers, a real MLflow server (download, upload, the version tag through
the outbox). The converter is a stand-in (tests/packager/slow_build.py) that stalls on the first worker."""

from __future__ import annotations

import hashlib
import os
import signal
import time

import pytest
from mlflow.tracking import MlflowClient

from audit.models import AuditEvent
from mirror.models import ModelVersion
from packager import lease, services
from packager.models import PackageJob
from tests.factories import ModelVersionFactory

pytestmark = [pytest.mark.celery, pytest.mark.mlflow]
WORKER_ARGS = ("--include", "tests.packager.slow_build")


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def logged_version(transactional_db, own_mlflow, tmp_path):
    """A version registered in the private MLflow server from a run's `model/` files, mirrored as v1 of "pk"."""
    client = MlflowClient(tracking_uri=own_mlflow.uri, registry_uri=own_mlflow.uri)
    run_id = client.create_run(client.create_experiment("packaging")).info.run_id
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors:\n  sklearn: {}\n")
    (model / "model.pkl").write_bytes(os.urandom(2048))
    client.log_artifacts(run_id, str(model), "model")
    client.create_registered_model("pk")
    client.create_model_version("pk", f"runs:/{run_id}/model", run_id=run_id)
    mv = ModelVersionFactory(model__name="pk", version=1, source_run__run_id=run_id, flavors=["sklearn"])
    return client, ModelVersion.objects.select_related("model").get(pk=mv.pk)


def test_a_job_whose_worker_is_killed_mid_way_finishes_exactly_once_on_another_worker(
    logged_version, celery_workers, settings, monkeypatch, make_user, role_groups
):
    client, mv = logged_version
    monkeypatch.setenv("PACKAGE_LEASE_SECONDS", "1.5")
    settings.PACKAGE_LEASE_SECONDS = 1.5
    monkeypatch.setenv("PACKAGE_TEST_STALL", "1")
    first = celery_workers(*WORKER_ARGS)
    job, created = services.request_package(user=make_user("eve", "ml-engineers"), mv=mv, fmt="onnx")
    assert created
    rows = PackageJob.objects.filter(pk=job.pk)
    running = wait_for(
        lambda: rows.filter(state="running", step="converting").first(), 60, "the first worker"
    )
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)

    monkeypatch.delenv("PACKAGE_TEST_STALL")
    second = celery_workers(*WORKER_ARGS)
    time.sleep(settings.PACKAGE_LEASE_SECONDS + 0.5)
    assert rows.get().state == "running"  # nobody finished it: the killed worker's lease simply ran out
    assert lease.sweep()["requeued"] == [job.pk]  # what beat does every PACKAGE_SWEEP_SECONDS
    done = wait_for(lambda: rows.filter(state__in=["succeeded", "failed"]).first(), 90, "the second worker")

    assert (done.state, done.error, done.attempts) == ("succeeded", "", 2)
    actions = list(
        AuditEvent.objects.filter(object_type="package", object_id=str(job.pk))
        .order_by("seq")
        .values_list("action", "data")
    )
    names = [action for action, _ in actions]
    assert names == [
        "package.requested",
        "package.started",
        "package.requeued",
        "package.started",
        "package.succeeded",
    ]
    assert actions[2][1]["lost_worker"] == running.worker != actions[3][1]["worker"]
    assert second.poll() is None
    local = client.download_artifacts(
        mv.run_id, "packages/onnx/model.onnx", dst_path=str(settings.MEDIA_ROOT)
    )
    assert hashlib.sha256(open(local, "rb").read()).hexdigest() == done.sha256
    assert done.artifact_uri == f"runs:/{mv.run_id}/packages/onnx/model.onnx"
    tag = wait_for(
        lambda: client.get_model_version("pk", "1").tags.get("package.onnx.sha256"), 30, "the version tag"
    )
    assert tag == done.sha256
