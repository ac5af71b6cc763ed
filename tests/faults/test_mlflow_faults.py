"""MLflow killed (SIGKILL of its process group) in the middle of the app's work, then started again on the same
port over the same store: the mirror converges, and approved promotions are applied exactly once.

The app talks to MLflow through a front door (tests/support/mlflow_faults.py) that kills it when a chosen request
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
    # The next whole-registry read, as beat runs it (the sweep; the frequent incremental reconcile does not see
    # version tags set without their webhook, and this MLflow sends none).
    queue.task("registry_ui.tasks.sweep_registry").delay()
    sweep = wait_for(
        lambda: (
            SyncRun.objects.filter(kind=SyncRun.Kind.SWEEP).exclude(status__in=["queued", "running"]).first()
        ),
        60,
        "the sweep after MLflow came back",
    )
    assert sweep.status == "succeeded", sweep.error
    result = convergence(client)
    fault_table("MLflow killed during a full sync", result.versions, result.lost, result.duplicated)
    assert (result.lost, result.duplicated) == (0, 0), result.problems
    assert result.versions == 300 - 5 - 30 + 20


FIVE_TARGETS = "version: 1\ntargets:\n" + "".join(
    f"  t{n}:\n    mlflow: {{alias: t{n}}}\n    approvals: 1\n    approver_groups: [approvers]\n"
    "    gates: [version_ready]\n"
    for n in range(1, 6)
)


@pytest.fixture
def five_targets(use_policy):
    """Five alias targets (one approval each), for this process and the workers started after it."""
    return use_policy(FIVE_TARGETS)


def _alias_write(method: str, path: str) -> bool:
    return method == "POST" and path.startswith("/api/2.0/mlflow/registered-models/alias")


def _applied_exactly_once(promotions, client: MlflowClient) -> tuple[int, int]:
    """(lost, duplicated) of the promotions, from MLflow's aliases and the audit chain: lost when MLflow's alias
    does not name the version or no "applied" event was recorded; duplicated when more than one was, or more than
    one outbox item was written for it."""
    from approvals.models import OutboxItem
    from audit.models import AuditEvent

    aliases = {name: client.get_registered_model(name).aliases for name in {p.model.name for p in promotions}}
    lost = duplicated = 0
    for p in promotions:
        applied_events = AuditEvent.objects.filter(
            object_type="promotion", object_id=str(p.pk), action="promotion.applied"
        ).count()
        items = OutboxItem.objects.filter(promotion=p).count()
        lost += str(aliases[p.model.name].get(p.target)) != str(p.version.version) or applied_events == 0
        duplicated += applied_events > 1 or items > 1
    return lost, duplicated


def test_mlflow_killed_during_50_applies_then_restarted_each_is_applied_exactly_once(
    mlflow_door, five_targets, role_groups, make_user, fast_hashes, celery_workers, monkeypatch, fault_table
):
    from approvals.models import DriftRecord, OutboxItem, Promotion
    from approvals.workflow import requests, signatures
    from audit.verification import verify
    from mirror.reconcile import execute_reconcile
    from mirror.sync import execute_sync
    from tests.support.governance import PASSWORD

    server, door = mlflow_door
    client = MlflowClient(tracking_uri=server.uri, registry_uri=server.uri)
    requester, approver = make_user("rita", "ml-engineers"), make_user("ann", "approvers")
    monkeypatch.setenv("OUTBOX_MAX_BACKOFF_SECONDS", "2")  # retries every 2 s at most while MLflow is down
    with ThreadPoolExecutor(2) as pool:  # two workers start while MLflow is seeded
        seeded = pool.submit(seed_registry, server.uri, models=10, versions=5, prefix="apply-fault")
        second = pool.submit(celery_workers)
        celery_workers()
        second.result()
        names = seeded.result()
    assert execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk).status == "succeeded"
    promotions = [
        requests.promotion_request(
            user=requester, model_name=name, version=n, target=f"t{n}", justification="fault suite"
        )
        for name in names
        for n in range(1, 6)
    ]
    wait_for(
        lambda: Promotion.objects.filter(state="awaiting_approval").count() == 50,
        60,
        "the workers' gate runs",
    )

    trap = door.kill_on(_alias_write, after=15, action=server.kill)
    for p in promotions:
        signatures.approval_grant(promotion_id=p.pk, user=approver, password=PASSWORD)
    wait_for(trap.fired.is_set, 60, "MLflow killed at the 15th alias write")
    wait_for(
        lambda: OutboxItem.objects.filter(done_at__isnull=True).exclude(last_error="").exists(),
        30,
        "an apply that found MLflow dead",
    )
    server.start()
    wait_for(lambda: Promotion.objects.filter(state="applied").count() == 50, 90, "every apply")

    lost, duplicated = _applied_exactly_once(promotions, client)
    fault_table("MLflow killed during the apply of 50 promotions", len(promotions), lost, duplicated)
    assert (lost, duplicated) == (0, 0)
    assert verify().ok
    assert not DriftRecord.objects.exists()
    wait_for(
        lambda: not SyncRun.objects.filter(status__in=["queued", "running"]).exists(),
        60,
        "the mirror's syncs after the applies",
    )
    # Two targeted syncs of a model may finish out of order (an older read applied last); the frequent
    # reconcile that follows makes the mirror show what MLflow shows.
    execute_reconcile(SyncRun.objects.create(kind=SyncRun.Kind.RECONCILE).pk)
    assert convergence(client).problems == []
