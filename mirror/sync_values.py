"""MLflow's dataclasses as the mirror's row values: the fields the one upsert (`mirror.sync`) compares and writes,
per row type, and the reading of MLflow's millisecond timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from mirror.mlflow_data import MlflowModel, MlflowRun, MlflowVersion

MODEL_FIELDS = ["description", "tags", "aliases", "creation_timestamp", "last_updated_timestamp"]
VERSION_FIELDS = [
    "stage",
    "status",
    "status_message",
    "aliases",
    "tags",
    "description",
    "source",
    "run_id",
    "logged_model_id",
    "source_run_id",
    "creator",
    "creation_timestamp",
    "last_updated_timestamp",
]
RUN_FIELDS = [
    "experiment_id",
    "run_name",
    "status",
    "user_id",
    "first_mlflow_user",
    "start_time",
    "end_time",
    "artifact_uri",
    "metrics",
    "params",
    "tags",
    "datasets",
]


def ms_to_dt(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms is not None else None


def model_values(m: MlflowModel) -> dict:
    return {
        "description": m.description,
        "tags": m.tags,
        "aliases": m.aliases,
        "creation_timestamp": ms_to_dt(m.creation_timestamp),
        "last_updated_timestamp": ms_to_dt(m.last_updated_timestamp),
    }


def run_values(r: MlflowRun) -> dict:
    return {
        "experiment_id": r.experiment_id,
        "run_name": r.run_name,
        "status": r.status,
        "user_id": r.user_id,
        "first_mlflow_user": (r.tags.get("mlflow.user") or "")[:256],
        "start_time": ms_to_dt(r.start_time),
        "end_time": ms_to_dt(r.end_time),
        "artifact_uri": r.artifact_uri,
        "metrics": r.metrics,
        "params": r.params,
        "tags": r.tags,
        "datasets": r.datasets,
    }


def version_values(v: MlflowVersion, run_pk: int | None) -> dict:
    return {
        "stage": v.stage,
        "status": v.status,
        "status_message": v.status_message,
        "aliases": v.aliases,
        "tags": v.tags,
        "description": v.description,
        "source": v.source,
        "run_id": v.run_id,
        "logged_model_id": v.model_id,
        "source_run_id": run_pk,
        "creator": v.user_id,
        "creation_timestamp": ms_to_dt(v.creation_timestamp),
        "last_updated_timestamp": ms_to_dt(v.last_updated_timestamp),
    }
