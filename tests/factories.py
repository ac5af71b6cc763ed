"""Builders of MLflow-shaped data for tests that exercise the upsert without a server."""

from mirror.gateway import MlflowModel, MlflowRun, MlflowVersion, RegistrySnapshot

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
        source=f"models:/m-{name}-{version}",
        run_id=run_id if run_id is not None else f"run{name}{version}",
        user_id=user_id,
        creation_timestamp=T0 + version,
        last_updated_timestamp=T0 + version,
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


def snapshot(models=(), versions=(), runs=None, scope=None, missing=False) -> RegistrySnapshot:
    versions = list(versions)
    if runs is None:
        runs = {v.run_id: mlflow_run(v.run_id) for v in versions if v.run_id}
    return RegistrySnapshot(
        models=list(models), versions=versions, runs=runs, scope_model=scope, missing_model=missing
    )
