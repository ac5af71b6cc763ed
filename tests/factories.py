"""Test data. Two kinds:

- MLflow-shaped data (`mlflow_model`, `mlflow_version`, `mlflow_run`, `snapshot`) for tests that go through the
  one upsert (`apply_snapshot`) as a sync would, hooks included;
- factory_boy factories of our own rows (`MetricHistoryFactory`, `PromotionFactory`, ...) for rows no sync or
  service writes in the test: a cached metric history, a promotion in a given state, a drift record.
"""

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from approvals.models import DriftRecord, Promotion
from mirror.gateway import MlflowLoggedModel, MlflowModel, MlflowRun, MlflowVersion, RegistrySnapshot
from mirror.models import MetricHistory, ModelVersion, RegisteredModel, Run

T0 = 1_700_000_000_000


def mlflow_model(name="churn", *, tags=None, aliases=None, description="", updated=T0) -> MlflowModel:
    return MlflowModel(
        name=name,
        description=description,
        tags=tags or {},
        aliases=aliases or {},
        creation_timestamp=T0,
        last_updated_timestamp=updated,
    )


def mlflow_version(
    name="churn",
    version=1,
    *,
    run_id=None,
    stage="None",
    aliases=(),
    tags=None,
    status="READY",
    user_id="alice",
    description="",
    model_id="",
) -> MlflowVersion:
    return MlflowVersion(
        name=name,
        version=version,
        stage=stage,
        status=status,
        status_message="",
        aliases=list(aliases),
        tags=tags or {},
        description=description,
        source=f"models:/{model_id}" if model_id else f"runs:/{run_id or f'run{name}{version}'}/model",
        run_id=run_id if run_id is not None else f"run{name}{version}",
        user_id=user_id,
        creation_timestamp=T0 + version,
        last_updated_timestamp=T0 + version,
        model_id=model_id,
    )


def mlflow_logged_model(
    model_id, source_run_id, *, name="model", params=None, metrics=None
) -> MlflowLoggedModel:
    """An MLflow 3 logged model; `metrics`: [(key, value, dataset_name, dataset_digest)]."""
    return MlflowLoggedModel(
        model_id=model_id,
        experiment_id="1",
        name=name,
        source_run_id=source_run_id,
        status="READY",
        model_type="",
        artifact_uri=f"mlflow-artifacts:/1/models/{model_id}/artifacts",
        creation_timestamp=T0,
        tags={},
        params=params or {"C": "1.0"},
        metrics=[
            {"key": k, "value": v, "step": 0, "dataset_name": n, "dataset_digest": d, "run_id": source_run_id}
            for k, v, n, d in metrics or ()
        ],
    )


def mlflow_run(run_id, *, metrics=None, params=None, tags=None, datasets=None) -> MlflowRun:
    return MlflowRun(
        run_id=run_id,
        experiment_id="1",
        run_name=run_id,
        status="FINISHED",
        user_id="alice",
        start_time=T0,
        end_time=T0 + 10,
        artifact_uri=f"mlflow-artifacts:/1/{run_id}/artifacts",
        metrics=metrics or {"acc": 0.9},
        params=params or {"C": "1.0"},
        tags=tags or {"mlflow.user": "alice"},
        datasets=datasets or [],
    )


def snapshot(
    models=(), versions=(), runs=None, scope=None, missing=False, logged_models=()
) -> RegistrySnapshot:
    versions = list(versions)
    if runs is None:
        runs = {v.run_id: mlflow_run(v.run_id) for v in versions if v.run_id}
    return RegistrySnapshot(
        models=list(models),
        versions=versions,
        runs=runs,
        logged_models={m.model_id: m for m in logged_models},
        scope_model=scope,
        missing_model=missing,
    )


# --- rows ---------------------------------------------------------------------------------------------------
class RegisteredModelFactory(DjangoModelFactory):
    class Meta:
        model = RegisteredModel
        django_get_or_create = ("name",)

    name = "churn"
    synced_at = factory.LazyFunction(timezone.now)


class RunFactory(DjangoModelFactory):
    class Meta:
        model = Run

    run_id = factory.Sequence(lambda n: f"run{n}")
    experiment_id = "1"
    status = "FINISHED"
    user_id = "alice"
    metrics = factory.LazyFunction(lambda: {"acc": 0.9})
    params = factory.LazyFunction(lambda: {"C": "1.0"})
    tags = factory.LazyFunction(lambda: {"mlflow.user": "alice"})
    synced_at = factory.LazyFunction(timezone.now)


class ModelVersionFactory(DjangoModelFactory):
    class Meta:
        model = ModelVersion

    model = factory.SubFactory(RegisteredModelFactory)
    version = factory.Sequence(lambda n: n + 1)
    status = "READY"
    source_run = factory.SubFactory(RunFactory)
    run_id = factory.SelfAttribute("source_run.run_id")
    creator = "alice"
    synced_at = factory.LazyFunction(timezone.now)


class MetricHistoryFactory(DjangoModelFactory):
    """A run's cached history of one metric: `steps` points at `t0 + step` ms, valued `value(step)`."""

    class Meta:
        model = MetricHistory

    class Params:
        steps = 100
        t0 = 0
        value = staticmethod(lambda step: step / 100)

    run = factory.SubFactory(RunFactory)
    key = "acc"
    fetched_at = factory.LazyFunction(timezone.now)
    points = factory.LazyAttribute(
        lambda o: [{"step": s, "timestamp": o.t0 + s, "value": o.value(s)} for s in range(o.steps)]
    )


class PromotionFactory(DjangoModelFactory):
    """A promotion row as it stands after the request (no gates run, no policy read)."""

    class Meta:
        model = Promotion

    version = factory.SubFactory(ModelVersionFactory)
    model = factory.SelfAttribute("version.model")
    target = "production"
    requested_by = factory.SubFactory("tests.factories.UserFactory")
    requested_at = factory.LazyFunction(timezone.now)
    state = Promotion.State.AWAITING_APPROVAL


class DriftRecordFactory(DjangoModelFactory):
    class Meta:
        model = DriftRecord

    model = factory.SubFactory(RegisteredModelFactory)
    target = "production"
    detected_at = factory.LazyFunction(timezone.now)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
