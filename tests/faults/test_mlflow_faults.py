"""MLflow killed (SIGKILL of its process group) in the middle of the app's work, then started again on the same
port over the same store: the mirror converges, and approved promotions are applied exactly once.

The app talks to MLflow through a front door (tests/support/faults.py) that kills it when a chosen request
arrives, so each kill lands at a known point of the work (mid-read of a full sync, mid-way through the applies)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from mlflow.tracking import MlflowClient

from common import queue
from demo.mlflow_process import MlflowServer
from mirror.models import ModelVersion, SyncRun
from mirror.sync import start_sync
from tests.support.faults import wait_for
from tests.support.mlflow_faults import MlflowFrontDoor, convergence, seed_registry

pytestmark = [pytest.mark.mlflow, pytest.mark.celery]


@pytest.fixture
def mlflow_door(tmp_path, settings):
    """A private MLflow server (its own port and store) and the front door the app is pointed at."""
    door = MlflowFrontDoor(0).start()
    server = MlflowServer(tmp_path / "mlflow")
    door.upstream_port = server.port
    try:
        server.start()
        settings.MLFLOW_TRACKING_URI = settings.MLFLOW_UI_URL = door.uri
        yield server, door
    finally:
        server.kill()  # a throwaway store: no graceful shutdown to wait for
        door.stop()


def _sync_finished(pk):
    run = SyncRun.objects.get(pk=pk)
    return run if run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED) else None


def _full_registry_read(method: str, path: str) -> bool:
    """A page of the full sync's version listing (a targeted sync's listing filters on one model's name)."""
    return (
        method == "GET" and path.startswith("/api/2.0/mlflow/model-versions/search") and "filter=" not in path
    )


def _change_everything(client: MlflowClient, names: list[str]) -> None:
    """Every kind of change a sync must carry over: deletions of versions and of a model, alias moves, a stage,
    tags, a description, new versions."""
    for version in range(1, 6):
        client.delete_model_version(names[0], str(version))
    client.delete_registered_model(names[9])
    for name in names[1:4]:
        client.set_registered_model_alias(name, "champion", "10")
    for version in range(1, 11):
        client.set_model_version_tag(names[4], str(version), "reviewed", "yes")
    client.transition_model_version_stage(names[5], "2", "Staging")
    run_id = client.get_model_version(names[6], "1").run_id
    for _ in range(20):
        client.create_model_version(names[6], f"runs:/{run_id}/model", run_id=run_id)
    client.update_model_version(names[7], "3", description="retrained on the March data")
    client.delete_registered_model_alias(names[8], "champion")


def test_mlflow_killed_during_a_full_sync_then_restarted_the_mirror_converges(
    mlflow_door, celery_workers, monkeypatch, fault_table
):
    server, door = mlflow_door
    client = MlflowClient(tracking_uri=server.uri, registry_uri=server.uri)
    monkeypatch.setenv(
        "MLFLOW_PAGE_SIZE", "50"
    )  # the worker reads the versions in pages: a kill lands mid-read
    with ThreadPoolExecutor(1) as pool:  # the worker starts while MLflow is seeded
        seeded = pool.submit(seed_registry, server.uri, models=10, versions=30, prefix="sync-fault")
        celery_workers()
        names = seeded.result()
    first = start_sync(kind=SyncRun.Kind.FULL)
    assert wait_for(lambda: _sync_finished(first.pk), 60, "the first full sync").status == "succeeded"
    mirrored = ModelVersion.objects.live().count()
    assert mirrored == 300

    _change_everything(client, names)
    trap = door.kill_on(_full_registry_read, after=3, action=server.kill)
    killed = start_sync(kind=SyncRun.Kind.FULL)
    outcome = wait_for(lambda: _sync_finished(killed.pk), 60, "the full sync MLflow died under")
    assert trap.fired.is_set() and not server.is_running()
    assert outcome.status == "failed" and "unreachable" in outcome.error
    assert ModelVersion.objects.live().count() == mirrored  # all or nothing: the half-read changed nothing

    server.start()
    queue.task("registry_ui.tasks.reconcile_registry").delay()
    reconcile = wait_for(
        lambda: (
            SyncRun.objects.filter(kind=SyncRun.Kind.RECONCILE)
            .exclude(status__in=["queued", "running"])
            .first()
        ),
        60,
        "the reconcile after MLflow came back",
    )
    assert reconcile.status == "succeeded", reconcile.error
    result = convergence(client)
    fault_table("MLflow killed during a full sync", result.versions, result.lost, result.duplicated)
    assert (result.lost, result.duplicated) == (0, 0), result.problems
    assert result.versions == 300 - 5 - 30 + 20
