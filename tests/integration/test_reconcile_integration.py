"""Every kind of change in a real `mlflow server` reaches the mirror within one of the two intervals: the
incremental reconcile (every RECONCILE_INTERVAL_SECONDS) or the full sweep (every RECONCILE_FULL_SWEEP_SECONDS).
No webhook is registered: these are the changes a lost webhook (or one MLflow never sends) leaves to them.

The overlap is 0 here, so a reconcile reads back exactly to its watermark: what it catches, it catches by its
own reads, not because the change happened to fall inside the safety window.
"""

from __future__ import annotations

import time
import uuid

import pytest

from mirror.gateway_incremental import server_time_ms
from mirror.models import ModelVersion, RegisteredModel, Run, SyncRun
from mirror.reconcile import execute_reconcile
from mirror.sync import execute_sync
from tests.support.mirror_check import differences

pytestmark = [pytest.mark.mlflow, pytest.mark.django_db]
# The reconcile's own queries run on both databases through the first tests; the other kinds of change differ
# only on the MLflow side, so they run once, in the PostgreSQL pass.
once = pytest.mark.postgres_pass_only


def reconcile() -> SyncRun:
    run = execute_reconcile(SyncRun.objects.create(kind=SyncRun.Kind.RECONCILE).pk)
    assert run.status == "succeeded", run.error
    return run


def sweep() -> SyncRun:
    run = execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.SWEEP).pk)
    assert run.status == "succeeded", run.error
    return run


def settle() -> None:
    """Wait until MLflow's clock, as a reconcile reads it (its `Date` header: whole seconds, and refreshed by the
    server only about once a second), is past everything done so far: the next reconcile's watermark is then
    past it too, whatever the machine's load."""
    now_ms = time.time() * 1000
    deadline = time.monotonic() + 10
    while (server_time_ms() or 0) <= now_ms:
        assert time.monotonic() < deadline, "MLflow's Date header does not move"
        time.sleep(0.1)


class Registry:
    """One model of the session's MLflow server, with two versions of finished runs, mirrored and reconciled
    once (so the watermark is past it)."""

    def __init__(self, client):
        self.client = client
        self.name = f"rc-{uuid.uuid4().hex[:8]}"
        self.experiment_id = client.create_experiment(f"{self.name}-exp")
        client.create_registered_model(self.name)
        self.versions = [self.register(self.finished_run()) for _ in range(2)]

    def finished_run(self, status="FINISHED") -> str:
        run = self.client.create_run(self.experiment_id)
        self.client.log_metric(run.info.run_id, "accuracy", 0.5)
        if status != "RUNNING":
            self.client.set_terminated(run.info.run_id, status)
        return run.info.run_id

    def register(self, run_id: str) -> str:
        return self.client.create_model_version(self.name, f"runs:/{run_id}/model", run_id=run_id).version

    def row(self, version) -> ModelVersion:
        return ModelVersion.objects.select_related("source_run").get(
            model__name=self.name, version=int(version)
        )

    def model(self) -> RegisteredModel:
        return RegisteredModel.objects.get(name=self.name)


@pytest.fixture
def registry(mlflow_uri, mlflow_client, settings):
    settings.RECONCILE_OVERLAP_SECONDS = 0
    reg = Registry(mlflow_client)
    sweep()
    settle()
    reconcile()
    settle()
    return reg


def test_a_reconcile_with_nothing_changed_reads_no_version_and_no_run(registry):
    run = reconcile()
    # Runs the mirror sees running are checked (their metrics may grow), but read only when they changed.
    assert (run.runs_read, run.versions_read) == (0, 0)
    assert (run.created, run.updated, run.deleted) == (0, 0, 0)
    assert run.watermark_ms > SyncRun.objects.filter(kind="sweep").latest("pk").watermark_ms


# --- caught by the incremental reconcile ----------------------------------------------------------
@once
def test_reconcile_catches_a_version_description_edit(registry, mlflow_client):
    mlflow_client.update_model_version(
        registry.name, registry.versions[0], description="retrained on May data"
    )
    run = reconcile()
    assert registry.row(registry.versions[0]).description == "retrained on May data"
    assert run.runs_read == 1  # only the edited version's run is read again
    assert differences(mlflow_client) == []


@once
def test_reconcile_catches_a_model_description_edit(registry, mlflow_client):
    mlflow_client.update_registered_model(registry.name, description="credit scoring")
    reconcile()
    assert registry.model().description == "credit scoring"


def test_reconcile_catches_alias_set_move_and_delete(registry, mlflow_client):
    first, second = registry.versions
    mlflow_client.set_registered_model_alias(registry.name, "champion", first)
    reconcile()
    assert registry.model().aliases == {"champion": int(first)}
    assert registry.row(first).aliases == ["champion"]
    mlflow_client.set_registered_model_alias(registry.name, "champion", second)
    run = reconcile()
    assert (registry.row(first).aliases, registry.row(second).aliases) == ([], ["champion"])
    assert run.runs_read == 0  # an alias move reads no run
    mlflow_client.delete_registered_model_alias(registry.name, "champion")
    reconcile()
    assert registry.model().aliases == {} and registry.row(second).aliases == []
    assert differences(mlflow_client) == []


@once
def test_reconcile_catches_a_stage_transition(registry, mlflow_client):
    mlflow_client.transition_model_version_stage(registry.name, registry.versions[1], "Staging")
    reconcile()
    assert registry.row(registry.versions[1]).stage == "Staging"


@once
def test_reconcile_catches_model_tag_set_and_delete(registry, mlflow_client):
    mlflow_client.set_registered_model_tag(registry.name, "team", "risk")
    reconcile()
    assert registry.model().tags == {"team": "risk"}
    mlflow_client.delete_registered_model_tag(registry.name, "team")
    reconcile()
    assert registry.model().tags == {}


def test_reconcile_catches_a_new_model_and_a_new_version(registry, mlflow_client):
    version = registry.register(registry.finished_run())
    other = f"{registry.name}-new"
    mlflow_client.create_registered_model(other)
    run = reconcile()
    assert registry.row(version).source_run.metrics == {"accuracy": 0.5}
    assert RegisteredModel.objects.live().filter(name=other).exists()
    assert run.runs_read == 1
    assert differences(mlflow_client) == []


def test_reconcile_catches_version_and_model_deletion(registry, mlflow_client):
    mlflow_client.delete_model_version(registry.name, registry.versions[0])
    reconcile()
    assert registry.row(registry.versions[0]).deleted_at is not None
    assert registry.model().version_count == 1
    mlflow_client.delete_registered_model(registry.name)
    run = reconcile()
    assert (
        registry.model().deleted_at is not None and registry.row(registry.versions[1]).deleted_at is not None
    )
    assert run.deleted == 2


@once
def test_reconcile_catches_a_model_rename(registry, mlflow_client):
    renamed = f"{registry.name}-renamed"
    mlflow_client.rename_registered_model(registry.name, renamed)
    reconcile()
    assert registry.model().deleted_at is not None
    assert RegisteredModel.objects.get(name=renamed).version_count == 2
    assert differences(mlflow_client) == []


def test_reconcile_catches_metrics_of_a_run_still_running_when_registered(registry, mlflow_client):
    run_id = registry.finished_run(status="RUNNING")
    version = registry.register(run_id)
    settle()
    reconcile()
    assert Run.objects.get(run_id=run_id).status == "RUNNING"
    settle()  # the watermark is past the registration: only the running-run check can see what follows
    mlflow_client.log_metric(run_id, "f1", 0.8)
    reconcile()
    assert registry.row(version).source_run.metrics == {"accuracy": 0.5, "f1": 0.8}
    mlflow_client.log_metric(run_id, "auc", 0.9)
    mlflow_client.set_terminated(run_id)
    reconcile()
    row = registry.row(version).source_run
    assert (row.status, row.metrics["auc"]) == ("FINISHED", 0.9)


@once
def test_reconcile_catches_metrics_of_a_registered_run_reopened_and_ended(registry, mlflow_uri):
    client = registry.client
    run_id = client.get_model_version(registry.name, registry.versions[0]).run_id
    # A later evaluation job logging to the registered run: what `mlflow.start_run(run_id=...)` does, through
    # the client (the fluent API would refuse it under another test's active experiment).
    client.update_run(run_id, status="RUNNING")
    client.log_metric(run_id, "holdout_auc", 0.77)
    client.set_terminated(run_id)
    reconcile()
    assert registry.row(registry.versions[0]).source_run.metrics["holdout_auc"] == 0.77


# --- left to the full sweep (and, for version tags, to the webhooks) ---------------------------------
@once
def test_version_tag_set_and_delete_reach_the_mirror_with_the_sweep(registry, mlflow_client):
    mlflow_client.set_model_version_tag(registry.name, registry.versions[0], "validated", "yes")
    reconcile()  # MLflow stamps nothing on a tag: the incremental is not counted on to see it (its webhook is)
    sweep()
    assert registry.row(registry.versions[0]).tags == {"validated": "yes"}
    mlflow_client.delete_model_version_tag(registry.name, registry.versions[0], "validated")
    sweep()
    assert registry.row(registry.versions[0]).tags == {}


@once
def test_a_metric_logged_to_an_ended_run_reaches_the_mirror_with_the_sweep(registry, mlflow_client):
    run_id = mlflow_client.get_model_version(registry.name, registry.versions[1]).run_id
    mlflow_client.log_metric(run_id, "late", 1.5)  # the run stays FINISHED, its end time unchanged
    reconcile()
    assert "late" not in registry.row(registry.versions[1]).source_run.metrics
    sweep()
    assert registry.row(registry.versions[1]).source_run.metrics["late"] == 1.5


@once
def test_a_reconcile_without_any_watermark_reads_the_whole_registry(mlflow_uri, mlflow_client):
    assert not SyncRun.objects.filter(watermark_ms__isnull=False).exists()
    Registry(mlflow_client)
    run = reconcile()
    assert run.watermark_ms is not None and run.runs_read >= 2
    assert differences(mlflow_client) == []
