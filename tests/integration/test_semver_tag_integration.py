"""Against a real `mlflow server` seeded with the demo models: reading a version's artifacts labels it, and the
mirror's outbox sets the label as the MLflow version tag `semver`, confirmed by reading it back."""

import pytest

from mirror import outbox
from mirror.models import MlflowWrite, ModelVersion, SyncRun
from mirror.services import read_version_artifacts
from mirror.sync import execute_sync

pytestmark = [pytest.mark.mlflow, pytest.mark.django_db]


def test_a_read_version_gets_its_semver_label_as_an_mlflow_tag(mlflow_uri, seeded_mlflow, mlflow_client):
    assert execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk).status == "succeeded"
    first = ModelVersion.objects.filter(model__name="credit-default-classifier").order_by("version")[:2]
    for mv in first:
        read_version_artifacts(model_version_id=mv.pk)
    labels = [ModelVersion.objects.get(pk=mv.pk).semver for mv in first]
    assert labels[0].startswith("1.0.0+") and labels[1] and labels[1] != labels[0]
    for write in MlflowWrite.objects.filter(model_name="credit-default-classifier", key="semver"):
        assert outbox.apply(write_id=write.pk) == ("applied", None)
        tags = mlflow_client.get_model_version(write.model_name, str(write.version)).tags
        assert tags["semver"] == write.value
        assert outbox.apply(write_id=write.pk) == ("done", None)
