"""The one idempotent upsert: what a read of MLflow does to the mirror."""

import pytest

from mirror.models import ModelVersion, RegisteredModel, Run
from mirror.sync import apply_snapshot
from tests.factories import mlflow_model, mlflow_run, mlflow_version, snapshot

pytestmark = pytest.mark.django_db


def test_first_sync_creates_models_versions_and_runs():
    result = apply_snapshot(
        snapshot(
            [mlflow_model(aliases={"production": 1})],
            [mlflow_version(version=1, aliases=["production"]), mlflow_version(version=2)],
        )
    )
    assert result.created == 5  # 1 model + 2 versions + 2 runs
    model = RegisteredModel.objects.get(name="churn")
    assert (model.version_count, model.latest_version) == (2, 2)
    v1 = ModelVersion.objects.get(model=model, version=1)
    assert v1.aliases == ["production"]
    assert v1.source_run.metrics == {"acc": 0.9}
    assert set(result.new_version_ids) == set(ModelVersion.objects.values_list("pk", flat=True))


def test_applying_the_same_snapshot_twice_changes_nothing():
    snap = snapshot([mlflow_model()], [mlflow_version(version=1)])
    apply_snapshot(snap)
    result = apply_snapshot(snap)
    assert (result.created, result.updated, result.deleted) == (0, 0, 0)


def test_changed_fields_are_updated_and_counted():
    apply_snapshot(snapshot([mlflow_model()], [mlflow_version(version=1)]))
    result = apply_snapshot(
        snapshot(
            [mlflow_model(description="new")],
            [mlflow_version(version=1, stage="Production", tags={"a": "b"})],
        )
    )
    assert result.updated == 2
    mv = ModelVersion.objects.get(version=1)
    assert (mv.stage, mv.tags) == ("Production", {"a": "b"})


def test_version_missing_from_a_full_read_is_marked_deleted_not_removed():
    apply_snapshot(snapshot([mlflow_model()], [mlflow_version(version=1), mlflow_version(version=2)]))
    result = apply_snapshot(snapshot([mlflow_model()], [mlflow_version(version=1)]))
    assert result.deleted == 1
    gone = ModelVersion.objects.get(version=2)
    assert gone.deleted_at is not None
    model = RegisteredModel.objects.get()
    assert (model.version_count, model.latest_version) == (1, 1)
    assert ModelVersion.objects.live().count() == 1


def test_model_missing_from_a_full_read_is_marked_deleted_with_its_versions():
    apply_snapshot(
        snapshot([mlflow_model("a"), mlflow_model("b")], [mlflow_version("a", 1), mlflow_version("b", 1)])
    )
    apply_snapshot(snapshot([mlflow_model("a")], [mlflow_version("a", 1)]))
    assert list(RegisteredModel.objects.live().values_list("name", flat=True)) == ["a"]
    assert ModelVersion.objects.get(model__name="b").deleted_at is not None


def test_targeted_read_touches_only_its_model():
    apply_snapshot(
        snapshot([mlflow_model("a"), mlflow_model("b")], [mlflow_version("a", 1), mlflow_version("b", 1)])
    )
    apply_snapshot(snapshot([mlflow_model("a")], [mlflow_version("a", 1), mlflow_version("a", 2)], scope="a"))
    assert RegisteredModel.objects.live().count() == 2
    assert ModelVersion.objects.live().count() == 3


def test_targeted_read_of_a_missing_model_marks_it_deleted():
    apply_snapshot(snapshot([mlflow_model("a")], [mlflow_version("a", 1)]))
    apply_snapshot(snapshot(scope="a", missing=True))
    assert RegisteredModel.objects.live().count() == 0
    assert ModelVersion.objects.live().count() == 0


def test_recreated_version_is_undeleted():
    apply_snapshot(snapshot([mlflow_model()], [mlflow_version(version=1)]))
    apply_snapshot(snapshot([mlflow_model()], []))
    apply_snapshot(snapshot([mlflow_model()], [mlflow_version(version=1)]))
    assert ModelVersion.objects.get(version=1).deleted_at is None


def test_run_metrics_update_in_place():
    v = mlflow_version(version=1)
    apply_snapshot(snapshot([mlflow_model()], [v]))
    apply_snapshot(
        snapshot([mlflow_model()], [v], runs={v.run_id: mlflow_run(v.run_id, metrics={"acc": 0.95})})
    )
    assert Run.objects.get().metrics == {"acc": 0.95}


def test_reconcile_marks_syncs_whose_worker_was_lost_as_failed_and_runs(monkeypatch):
    from django.utils import timezone

    from mirror import gateway
    from mirror.models import SyncRun
    from mirror.tasks import reconcile_registry

    two_hours_ago = timezone.now() - timezone.timedelta(hours=2)
    lost = SyncRun.objects.create(kind="reconcile", status="running", started_at=two_hours_ago)
    SyncRun.objects.filter(pk=lost.pk).update(queued_at=two_hours_ago)
    monkeypatch.setattr(gateway, "read_registry", lambda progress=None: snapshot([mlflow_model()], []))
    reconcile_registry()
    lost.refresh_from_db()
    assert lost.status == "failed" and "lost" in lost.error
    assert SyncRun.objects.filter(kind="reconcile", status="succeeded").count() == 1


def test_reconcile_does_not_pile_up_behind_one_in_progress(monkeypatch):
    from django.utils import timezone

    from mirror.models import SyncRun
    from mirror.tasks import reconcile_registry

    SyncRun.objects.create(kind="reconcile", status="running", started_at=timezone.now())
    reconcile_registry()
    assert SyncRun.objects.count() == 1


def test_non_finite_metrics_from_mlflow_are_mirrored_as_null():
    from mirror.mlflow_data import parse_run

    run = parse_run(
        {
            "info": {"run_id": "r-nan", "experiment_id": "1"},
            "data": {
                "metrics": [
                    {"key": "loss", "value": "NaN"},
                    {"key": "acc", "value": 0.5},
                    {"key": "big", "value": "Infinity"},
                ]
            },
        }
    )
    v = mlflow_version(version=1, run_id="r-nan")
    apply_snapshot(snapshot([mlflow_model()], [v], runs={"r-nan": run}))
    assert Run.objects.get(run_id="r-nan").metrics == {"loss": None, "acc": 0.5, "big": None}


def test_a_failed_sync_is_recorded_on_the_audit_chain(settings):
    from audit.models import AuditEvent
    from mirror.models import SyncRun
    from mirror.sync import execute_sync

    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"
    settings.MLFLOW_MAX_RETRIES = 0
    run = execute_sync(SyncRun.objects.create(kind="reconcile").pk)
    assert run.status == "failed"
    event = AuditEvent.objects.get(action="sync.failed")
    assert (event.object_type, event.object_id, event.data["kind"]) == ("sync_run", str(run.pk), "reconcile")
    assert "unreachable" in event.data["error"]
