"""The logged-model part of the one upsert (`mirror.sync.apply_snapshot`): MLflow 3 logged models read with the
versions that name them, created or changed field by field, never deleted (a version's lineage still names one
MLflow deleted, as it does a run)."""

from __future__ import annotations

from datetime import UTC, datetime

from mirror.mlflow_data import MlflowLoggedModel, RegistrySnapshot
from mirror.models import LoggedModel

FIELDS = [
    "experiment_id",
    "name",
    "source_run_id",
    "status",
    "model_type",
    "artifact_uri",
    "creation_timestamp",
    "tags",
    "params",
    "metrics",
]


def _values(m: MlflowLoggedModel) -> dict:
    created = m.creation_timestamp
    return {
        "experiment_id": m.experiment_id,
        "name": m.name[:256],
        "source_run_id": m.source_run_id,
        "status": m.status[:32],
        "model_type": m.model_type[:128],
        "artifact_uri": m.artifact_uri,
        "creation_timestamp": datetime.fromtimestamp(created / 1000, tz=UTC) if created is not None else None,
        "tags": m.tags,
        "params": m.params,
        "metrics": m.metrics,
    }


def apply_logged_models(snapshot: RegistrySnapshot, now: datetime) -> tuple[int, int]:
    """Upsert the snapshot's logged models (two queries and the writes); returns (created, updated)."""
    if not snapshot.logged_models:
        return 0, 0
    existing = {m.model_id: m for m in LoggedModel.objects.filter(model_id__in=list(snapshot.logged_models))}
    new, changed = [], []
    for model_id, m in snapshot.logged_models.items():
        values = _values(m)
        row = existing.get(model_id)
        if row is None:
            new.append(LoggedModel(model_id=model_id, synced_at=now, **values))
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.synced_at = now
            changed.append(row)
    LoggedModel.objects.bulk_create(new, batch_size=500)
    if changed:
        LoggedModel.objects.bulk_update(changed, [*FIELDS, "synced_at"], batch_size=500)
    return len(new), len(changed)
