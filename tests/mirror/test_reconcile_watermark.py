"""The incremental reconcile's rules (mirror.watermark, pure) and where its watermark comes from (the database).
What each kind of change in a real MLflow server does to the mirror is in tests/integration/test_reconcile_integration.py."""

from __future__ import annotations

import pytest
from django.utils import timezone

from mirror import watermark
from mirror.models import SyncRun
from mirror.reconcile import last_watermark
from mirror.sync import apply_snapshot
from tests.factories import T0, mlflow_model, mlflow_version, snapshot

pure = pytest.mark.postgres_pass_only


def mirrored(description="", tags=None, aliases=None, deleted=False) -> watermark.MirroredModel:
    return watermark.MirroredModel(description, tags or {}, aliases or {}, deleted)


@pure
@pytest.mark.parametrize(
    ("watermark_ms", "overlap_ms", "expected"),
    [(10_000, 0, 10_000), (10_000, 2_000, 8_000), (1_000, 5_000, 0), (10_000, -5, 10_000)],
)
def test_cutoff_reads_back_the_overlap_and_never_before_the_epoch(watermark_ms, overlap_ms, expected):
    assert watermark.cutoff(watermark_ms, overlap_ms) == expected


@pure
def test_the_watermark_never_moves_backwards():
    assert watermark.advance(500, [100, None, 300]) == 500
    assert watermark.advance(500, [100, 900]) == 900
    assert watermark.advance(500, []) == 500
    assert watermark.advance(500, [None]) == 500


@pure
def test_a_complete_read_sets_the_watermark_to_the_newest_stamp_it_saw():
    snap = snapshot([mlflow_model(updated=T0 + 5)], [mlflow_version(version=9)])  # stamped T0 + 9
    assert watermark.snapshot_watermark(snap) == T0 + 9
    assert watermark.snapshot_watermark(snapshot()) is None


@pure
@pytest.mark.parametrize(
    ("listed", "row", "changed"),
    [
        (mlflow_model(updated=T0), mirrored(), False),  # stamped before the cutoff, equal
        (mlflow_model(updated=T0 + 10), mirrored(), True),  # stamped at the cutoff (same millisecond)
        (mlflow_model(updated=T0 + 11), mirrored(), True),  # a version created, deleted or moved
        (mlflow_model(tags={"team": "risk"}), mirrored(), True),  # tags move no stamp
        (mlflow_model(aliases={"champion": 2}), mirrored(aliases={"champion": 1}), True),  # nor aliases
        (mlflow_model(description="new"), mirrored(), True),
        (mlflow_model(), mirrored(deleted=True), True),  # back after a deletion
        (mlflow_model(), None, True),  # new to the mirror
    ],
)
def test_a_model_is_changed_when_new_stamped_since_the_cutoff_or_different(listed, row, changed):
    rows = {"churn": row} if row else {}
    assert watermark.changed_models([listed], rows, since_ms=T0 + 10) == (
        {"churn"} if changed else set(),
        set(),
    )


@pure
def test_a_live_model_missing_from_the_listing_is_gone_and_a_deleted_one_stays_quiet():
    rows = {"churn": mirrored(), "old": mirrored(deleted=True), "kept": mirrored()}
    assert watermark.changed_models([mlflow_model("kept")], rows, since_ms=T0 + 1) == (set(), {"churn"})


@pure
def test_only_new_stamped_moved_or_unlinked_versions_have_their_runs_read_again():
    rows = {
        ("churn", 1): watermark.MirroredVersion("runchurn1", True),  # unchanged
        ("churn", 2): watermark.MirroredVersion("runchurn2", True),  # stamped since the cutoff (below)
        ("churn", 3): watermark.MirroredVersion("another-run", True),  # registered from another run
        ("churn", 4): watermark.MirroredVersion("runchurn4", False),  # its run was never linked
    }
    versions = [mlflow_version(version=n) for n in (1, 2, 3, 4, 5)]  # stamped T0 + n; 5 is new
    stale = watermark.versions_to_refresh(versions, rows, since_ms=T0 + 2)
    assert [v.version for v in stale] == [2, 3, 4, 5]
    assert [v.version for v in watermark.versions_to_refresh(versions[:1], rows, since_ms=T0 + 2)] == []


@pure
def test_a_version_without_a_run_needs_no_run_read():
    rows = {("churn", 1): watermark.MirroredVersion("", False)}
    assert watermark.versions_to_refresh([mlflow_version(version=1, run_id="")], rows, since_ms=T0 + 5) == []


@pytest.mark.django_db
def test_the_watermark_is_that_of_the_latest_successful_whole_registry_read():
    assert last_watermark() is None
    now = timezone.now()

    def run(kind, status, mark, minutes_ago):
        SyncRun.objects.create(
            kind=kind,
            status=status,
            watermark_ms=mark,
            finished_at=now - timezone.timedelta(minutes=minutes_ago),
        )

    run("sweep", "succeeded", 100, 30)
    run("reconcile", "succeeded", 200, 20)
    run("reconcile", "failed", 999, 10)  # a failed read proves nothing
    run("webhook", "succeeded", None, 5)  # a targeted read sets none
    assert last_watermark() == 200
    run("full", "succeeded", 150, 1)  # the latest read counts, even when older data: it only reads more
    assert last_watermark() == 150


@pytest.mark.django_db
def test_a_full_sync_records_its_watermark_and_a_targeted_one_none(monkeypatch):
    from mirror import gateway, gateway_stream
    from mirror.sync import execute_sync

    whole = snapshot([mlflow_model(updated=T0 + 50)], [mlflow_version(version=1)])
    monkeypatch.setattr(gateway, "read_registry", lambda progress=None: whole)
    monkeypatch.setattr(gateway_stream, "iter_registry", lambda progress=None: iter([whole]))  # PostgreSQL's
    monkeypatch.setattr(gateway, "read_model", lambda name: snapshot([mlflow_model()], [], scope="churn"))
    assert execute_sync(SyncRun.objects.create(kind="full").pk).watermark_ms == T0 + 50
    targeted = execute_sync(SyncRun.objects.create(kind="webhook", model_name="churn").pk)
    assert targeted.status == "succeeded" and targeted.watermark_ms is None


@pytest.mark.django_db
def test_a_version_keeps_its_mirrored_run_when_a_scoped_read_did_not_fetch_it():
    v = mlflow_version(version=1)
    apply_snapshot(snapshot([mlflow_model()], [v]))
    apply_snapshot(snapshot([mlflow_model(description="edited")], [v], runs={}, scope="churn"))
    from mirror.models import ModelVersion

    assert ModelVersion.objects.get().source_run.run_id == v.run_id


@pytest.mark.django_db
def test_the_sync_page_tells_the_reconcile_from_the_full_sweep_and_their_intervals(client_user, settings):
    settings.RECONCILE_INTERVAL_SECONDS, settings.RECONCILE_FULL_SWEEP_SECONDS = 45, 1800
    now = timezone.now()
    for kind in ("reconcile", "sweep"):
        SyncRun.objects.create(kind=kind, status="succeeded", started_at=now, finished_at=now)
    page = client_user.get("/sync/").content.decode()
    assert "full sweep" in page and "changes since the last read" in page and "whole registry" in page
    assert "every 45 s" in page and "every 1800 s" in page


@pytest.mark.django_db
def test_the_sweep_task_reads_everything_sets_the_watermark_and_never_piles_up(monkeypatch):
    from mirror import gateway
    from mirror.tasks import reconcile_registry, sweep_registry

    whole = snapshot([mlflow_model(updated=T0 + 7)], [mlflow_version(version=1)])
    monkeypatch.setattr(gateway, "read_registry", lambda progress=None: whole)
    sweep_registry()
    swept = SyncRun.objects.get(kind="sweep")
    assert (swept.status, swept.watermark_ms, swept.versions_read) == ("succeeded", T0 + 7, 1)
    SyncRun.objects.create(kind="sweep", status="running", started_at=timezone.now())
    sweep_registry()
    reconcile_registry()  # nor does a reconcile start while a sweep reads everything anyway
    assert SyncRun.objects.count() == 2
