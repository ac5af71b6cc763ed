"""A mirrored model with n versions and their runs, for the comparison tests."""

from mirror.models import ModelVersion
from mirror.sync import apply_snapshot
from tests.factories import mlflow_model, mlflow_run, mlflow_version, snapshot


def seed(name="churn", n=3, *, metrics=None, params=None, model_tags=None, aliases=None, datasets=None):
    """A model with n versions; metrics/params are callables of the version number (or dicts)."""
    versions = [
        mlflow_version(name, v, aliases=[a for a, h in (aliases or {}).items() if h == v])
        for v in range(1, n + 1)
    ]
    runs = {}
    for v in versions:
        number = v.version
        runs[v.run_id] = mlflow_run(
            v.run_id,
            metrics=metrics(number) if callable(metrics) else (metrics or {"acc": 0.5 + number / 100}),
            params=params(number) if callable(params) else (params or {"C": "1.0"}),
            datasets=datasets(number) if callable(datasets) else datasets,
        )
    apply_snapshot(
        snapshot([mlflow_model(name, tags=model_tags, aliases=aliases)], versions, runs=runs, scope=name)
    )
    return list(ModelVersion.objects.filter(model__name=name).order_by("version"))
