"""The mirror against a real `mlflow server`: full sync, reconcile after random operations, failure."""

import uuid

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mirror.models import ModelVersion, RegisteredModel, SyncRun
from mirror.sync import execute_sync
from tests.support.mirror_check import differences

pytestmark = [pytest.mark.mlflow, pytest.mark.django_db]


@pytest.fixture
def seeded(seeded_mlflow):
    return seeded_mlflow


def full_sync(kind=SyncRun.Kind.FULL) -> SyncRun:
    return execute_sync(SyncRun.objects.create(kind=kind).pk)


def test_full_sync_mirrors_the_seeded_registry_field_by_field(mlflow_uri, seeded, mlflow_client):
    run = full_sync()
    assert run.status == "succeeded", run.error
    assert run.models_read >= 3 and run.versions_read >= 9 and run.runs_read >= 9
    assert differences(mlflow_client) == []
    classifier = RegisteredModel.objects.get(name="credit-default-classifier")
    assert classifier.primary_metric == "test_f1"
    newest = ModelVersion.objects.filter(model=classifier).order_by("-version").first()
    assert {"test_f1", "test_accuracy", "test_roc_auc"} <= set(newest.source_run.metrics)
    assert newest.source_run.datasets and newest.source_run.datasets[0]["digest"]


def test_second_full_sync_changes_nothing(mlflow_uri, seeded):
    full_sync()
    again = full_sync()
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)


def test_sync_against_an_unreachable_mlflow_fails_and_leaves_the_mirror_as_it_was(
    mlflow_uri, seeded, settings
):
    full_sync()
    before = list(ModelVersion.objects.order_by("pk").values())
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"  # discard port: connection refused
    run = full_sync()
    assert run.status == "failed"
    assert "unreachable" in run.error
    assert list(ModelVersion.objects.order_by("pk").values()) == before


# --- random MLflow operations followed by a reconcile ---------------------------------------------
OPS = st.lists(
    st.sampled_from(
        [
            "create_model",
            "create_version",
            "tag",
            "untag",
            "alias",
            "move_alias",
            "stage",
            "describe",
            "describe_model",
            "delete_version",
            "delete_model",
            "model_tag",
        ]
    ),
    min_size=3,
    max_size=14,
)


class Registry:
    """Applies abstract operations to a real MLflow, within a namespace of fresh models."""

    def __init__(self, client, data):
        self.client, self.data = client, data
        self.prefix = f"hyp-{uuid.uuid4().hex[:8]}"
        self.models: list[str] = []
        self.created = 0  # names are never reused: m1 deleted, then a new model, must not be a second m1
        self.experiment = client.create_experiment(self.prefix)

    def pick_model(self):
        return self.data.draw(st.sampled_from(self.models)) if self.models else None

    def versions(self, name):
        return [int(v.version) for v in self.client.search_model_versions(f"name='{name}'")]

    def pick_version(self):
        name = self.pick_model()
        if not name:
            return None, None
        versions = self.versions(name)
        return (name, self.data.draw(st.sampled_from(versions))) if versions else (name, None)

    def apply(self, op):
        c = self.client
        if op == "create_model" or not self.models:
            name = f"{self.prefix} m{self.created}"
            self.created += 1
            c.create_registered_model(name, tags={"team": "a"}, description="d")
            self.models.append(name)
            return
        if op == "create_version":
            name = self.pick_model()
            run = c.create_run(self.experiment)
            c.log_metric(run.info.run_id, "acc", self.data.draw(st.floats(0, 1)))
            c.log_param(run.info.run_id, "C", "1.0")
            c.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
            return
        if op == "delete_model":
            name = self.pick_model()
            c.delete_registered_model(name)
            self.models.remove(name)
            return
        if op == "describe_model":
            c.update_registered_model(
                self.pick_model(),
                description=self.data.draw(st.text(st.characters(blacklist_characters="\x00"), max_size=20)),
            )
            return
        if op == "model_tag":
            c.set_registered_model_tag(
                self.pick_model(), "owner", self.data.draw(st.sampled_from(["x", "y"]))
            )
            return
        name, version = self.pick_version()
        if version is None:
            return
        if op == "tag":
            c.set_model_version_tag(
                name, str(version), "data_validated", self.data.draw(st.sampled_from(["true", "false"]))
            )
        elif op == "untag":
            c.delete_model_version_tag(name, str(version), "data_validated")
        elif op in ("alias", "move_alias"):
            c.set_registered_model_alias(
                name, self.data.draw(st.sampled_from(["production", "staging"])), str(version)
            )
        elif op == "stage":
            c.transition_model_version_stage(
                name,
                str(version),
                self.data.draw(st.sampled_from(["Staging", "Production", "Archived", "None"])),
            )
        elif op == "describe":
            c.update_model_version(
                name,
                str(version),
                description=self.data.draw(st.text(st.characters(blacklist_characters="\x00"), max_size=20)),
            )
        elif op == "delete_version":
            c.delete_model_version(name, str(version))


@hsettings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=OPS, data=st.data())
def test_mirror_equals_mlflow_after_random_operations_and_a_reconcile(mlflow_uri, mlflow_client, ops, data):
    full_sync()
    registry = Registry(mlflow_client, data)
    for op in ops:
        registry.apply(op)
    run = full_sync(kind=SyncRun.Kind.RECONCILE)
    assert run.status == "succeeded", run.error
    assert differences(mlflow_client) == []
