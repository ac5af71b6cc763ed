"""Compare the mirror with MLflow field by field, reading MLflow through its own client (independent of
our gateway's REST parsing)."""

from __future__ import annotations

from datetime import UTC, datetime

from mirror.models import ModelVersion, RegisteredModel


def _dt(ms):
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms is not None else None


def mlflow_state(client) -> dict:
    models = {}
    for rm in client.search_registered_models(max_results=1000):
        versions = {}
        for mv in client.search_model_versions(f"name='{rm.name}'", max_results=10000):
            versions[int(mv.version)] = mv
        models[rm.name] = (rm, versions)
    return models


def differences(client) -> list[str]:
    """Every mismatch between MLflow and the live mirror, as readable lines (empty when equal)."""
    problems: list[str] = []
    state = mlflow_state(client)
    mirror_models = {m.name: m for m in RegisteredModel.objects.live()}
    if set(state) != set(mirror_models):
        problems.append(f"models: mlflow {sorted(state)} != mirror {sorted(mirror_models)}")
    runs_cache = {}
    for name, (rm, versions) in state.items():
        row = mirror_models.get(name)
        if row is not None:
            problems += _model_differences(client, name, rm, versions, row, runs_cache)
    return problems


def _model_differences(client, name, rm, versions, row, runs_cache) -> list[str]:
    problems: list[str] = []
    aliases = {a: int(v) for a, v in (rm.aliases or {}).items()}
    expected = {
        "description": rm.description or "",
        "tags": dict(rm.tags),
        "aliases": aliases,
        "creation_timestamp": _dt(rm.creation_timestamp),
        "last_updated_timestamp": _dt(rm.last_updated_timestamp),
        "version_count": len(versions),
        "latest_version": max(versions) if versions else None,
    }
    for field, value in expected.items():
        if getattr(row, field) != value:
            problems.append(f"{name}.{field}: mlflow {value!r} != mirror {getattr(row, field)!r}")
    mirror_versions = {
        v.version: v for v in ModelVersion.objects.live().filter(model=row).select_related("source_run")
    }
    if set(versions) != set(mirror_versions):
        problems.append(f"{name} versions: mlflow {sorted(versions)} != mirror {sorted(mirror_versions)}")
    for number, mv in versions.items():
        mrow = mirror_versions.get(number)
        if mrow is not None:
            problems += _version_differences(client, name, number, mv, mrow, aliases, runs_cache)
    return problems


def _version_differences(client, name, number, mv, mrow, aliases, runs_cache) -> list[str]:
    problems: list[str] = []
    expected_v = {
        "stage": mv.current_stage or "None",
        "status": mv.status,
        "description": mv.description or "",
        "tags": dict(mv.tags),
        "aliases": sorted(a for a, v in aliases.items() if v == number),
        "source": mv.source,
        "run_id": mv.run_id or "",
        "creator": mv.user_id or None,
        "creation_timestamp": _dt(mv.creation_timestamp),
        "last_updated_timestamp": _dt(mv.last_updated_timestamp),
    }
    for field, value in expected_v.items():
        if getattr(mrow, field) != value:
            problems.append(f"{name} v{number}.{field}: mlflow {value!r} != mirror {getattr(mrow, field)!r}")
    if mv.run_id:
        run = runs_cache.get(mv.run_id) or client.get_run(mv.run_id)
        runs_cache[mv.run_id] = run
        if mrow.source_run is None:
            problems.append(f"{name} v{number}: run {mv.run_id} missing in mirror")
        else:
            problems += _run_differences(mv.run_id, run, mrow.source_run)
    return problems


def _numbers(metrics: dict) -> dict:
    """Metric values compared as numbers: NaN is null in the mirror, and MLflow's ±inf (its store keeps the
    largest float) comes back from PostgreSQL's jsonb as a 309-digit integer of the same value."""
    return {k: None if v is None or v != v else float(v) for k, v in metrics.items()}


def _run_differences(run_id, run, mrun) -> list[str]:
    expected_r = {
        "metrics": _numbers(run.data.metrics),
        "params": dict(run.data.params),
        "tags": dict(run.data.tags),
        "experiment_id": run.info.experiment_id,
        "status": run.info.status,
        "datasets": sorted(
            (d.dataset.name, d.dataset.digest, d.dataset.source_type, d.dataset.source)
            for d in run.inputs.dataset_inputs
        ),
    }
    actual_r = {
        "metrics": _numbers(mrun.metrics),
        "params": mrun.params,
        "tags": mrun.tags,
        "experiment_id": mrun.experiment_id,
        "status": mrun.status,
        "datasets": sorted((d["name"], d["digest"], d["source_type"], d["source"]) for d in mrun.datasets),
    }
    return [
        f"run {run_id}.{field}: mlflow {value!r} != mirror {actual_r[field]!r}"
        for field, value in expected_r.items()
        if actual_r[field] != value
    ]
