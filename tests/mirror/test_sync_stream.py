"""The full sync's streamed apply: a read that arrives in pieces (models and versions, then chunks of logged models,
then chunks of runs) lands exactly as the same read applied at once, and all or nothing."""

import pytest

from common.errors import MlflowUnavailable
from mirror.mlflow_data import RegistrySnapshot
from mirror.models import LoggedModel, ModelVersion, RegisteredModel, Run
from mirror.sync import apply_snapshot, apply_stream
from tests.factories import mlflow_logged_model, mlflow_model, mlflow_run, mlflow_version

pytestmark = pytest.mark.django_db


def pieces_of_a_registry():
    """Two models, four versions (one registered from a logged model), in the order the stream reads them."""
    versions = [mlflow_version("churn", 1), mlflow_version("churn", 2, aliases=["production"])] + [
        mlflow_version("fraud", 1),
        mlflow_version("fraud", 2, model_id="m-abc", run_id="runlogged"),
    ]
    runs = {v.run_id: mlflow_run(v.run_id, metrics={"acc": 0.5 + v.version / 10}) for v in versions}
    ordered = sorted(runs)
    return [
        RegistrySnapshot(
            models=[mlflow_model("churn", aliases={"production": 2}), mlflow_model("fraud")],
            versions=versions,
        ),
        RegistrySnapshot(logged_models={"m-abc": mlflow_logged_model("m-abc", "runlogged")}),
        RegistrySnapshot(runs={r: runs[r] for r in ordered[:2]}),
        RegistrySnapshot(runs={r: runs[r] for r in ordered[2:]}),
    ]


def test_a_read_applied_piece_by_piece_lands_as_the_same_read_applied_at_once():
    merged, result = apply_stream(iter(pieces_of_a_registry()))

    assert (len(merged.models), len(merged.versions), len(merged.runs), len(merged.logged_models)) == (
        2,
        4,
        4,
        1,
    )
    assert result.created == 2 + 4 + 4 + 1
    assert result.touched_models == {"churn", "fraud"}
    assert len(result.new_version_ids) == 4
    # The one upsert of the merged read at once finds nothing left to write.
    again = apply_snapshot(merged)
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)
    assert ModelVersion.objects.filter(source_run__isnull=True).count() == 0
    assert ModelVersion.objects.get(model__name="churn", version=2).aliases == ["production"]
    assert RegisteredModel.objects.get(name="fraud").version_count == 2


def test_an_error_mid_read_leaves_the_mirror_as_it_was():
    def failing_read():
        pieces = pieces_of_a_registry()
        yield from pieces[:3]  # runs of the first chunk already written in the transaction
        raise MlflowUnavailable("MLflow went away mid-read")

    with pytest.raises(MlflowUnavailable):
        apply_stream(failing_read())
    assert (RegisteredModel.objects.count(), ModelVersion.objects.count()) == (0, 0)
    assert (Run.objects.count(), LoggedModel.objects.count()) == (0, 0)


def test_a_version_whose_run_the_read_did_not_return_keeps_its_mirrored_run():
    pieces = pieces_of_a_registry()
    apply_stream(iter(pieces))
    without_one_run = [*pieces[:2], RegistrySnapshot(runs=dict(list(pieces[2].runs.items())[1:])), pieces[3]]
    missing_run = next(iter(pieces[2].runs))

    _, result = apply_stream(iter(without_one_run))

    assert (result.created, result.updated, result.deleted) == (0, 0, 0)
    assert ModelVersion.objects.get(run_id=missing_run).source_run.run_id == missing_run
