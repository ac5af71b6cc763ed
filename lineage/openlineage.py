"""A version's lineage as OpenLineage run events (built with the `openlineage-python` package's models), so
Marquez, DataHub or any OpenLineage consumer can ingest it: one COMPLETE RunEvent per run of the version's
lineage (its source run and the parent chain), inputs its datasets, outputs the version as `models:/NAME/V`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated import dataset_version_dataset, parent_run
from openlineage.client.serde import Serde

from lineage import graph, selectors
from mirror.models import ModelVersion
from mirror.models import Run as MirroredRun

PRODUCER = "urn:registry-governance:lineage"
RUN_ID_NAMESPACE = uuid.UUID("6f1c2a52-7a4e-4b8e-9a57-1f3b0c1d2e4f")


def run_uuid(run_id: str) -> str:
    """OpenLineage wants a UUID: MLflow's 32-hex run ids are one; any other id maps to a stable UUID5."""
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return str(uuid.uuid5(RUN_ID_NAMESPACE, run_id))


def dataset_id(ds: graph.DatasetFact) -> tuple[str, str]:
    """(namespace, name) by OpenLineage's naming: `s3://bucket` + `key`, `file` + `/path`, a table's source type +
    its name; without a source, `mlflow-dataset:<source type>` + the MLflow name (or digest)."""
    source = ds.source
    if not source:
        return f"mlflow-dataset:{ds.source_type or 'unknown'}", ds.name or ds.digest or "unnamed"
    parts = urlsplit(source)
    if parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/") or source
    if parts.scheme == "file" or source.startswith("/") or ds.source_type in {"", "local", "file"}:
        return "file", parts.path or source
    return ds.source_type, source


def _input(ds: graph.DatasetFact) -> InputDataset:
    namespace, name = dataset_id(ds)
    facets: dict[str, Any] = {}
    if ds.digest:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=ds.digest)
    return InputDataset(namespace=namespace, name=name, facets=facets)


def _job_namespace(experiment_id: str) -> str:
    return f"mlflow:experiment:{experiment_id or 'unknown'}"


def _iso(at: datetime | None) -> str:
    return (at or datetime(1970, 1, 1, tzinfo=UTC)).isoformat()


def version_events(mv: ModelVersion) -> list[dict[str, Any]]:
    """The run events of the version's lineage, the source run first, as JSON-ready dicts."""
    runs = selectors.version_runs(mv)
    extra = {
        row[0]: row[1:]
        for row in MirroredRun.objects.filter(run_id__in=list(runs)).values_list(
            "run_id", "experiment_id", "start_time", "end_time"
        )
    }
    output = OutputDataset(
        namespace=str(getattr(settings, "MLFLOW_TRACKING_URI", "") or "mlflow"),
        name=f"models:/{mv.model.name}/{mv.version}",
    )
    events = []
    for run in runs.values():
        experiment_id, start, end = extra.get(run.run_id, ("", None, None))
        facets: dict[str, Any] = {}
        parent = runs.get(run.parent_run_id)
        if parent is not None:
            facets["parent"] = parent_run.ParentRunFacet(
                run=parent_run.Run(runId=run_uuid(parent.run_id)),
                job=parent_run.Job(
                    namespace=_job_namespace(extra.get(parent.run_id, ("",))[0]),
                    name=parent.name or parent.run_id,
                ),
            )
        event = RunEvent(
            eventType=RunState.COMPLETE,
            eventTime=_iso(end or start or mv.creation_timestamp),
            run=Run(runId=run_uuid(run.run_id), facets=facets),
            job=Job(namespace=_job_namespace(experiment_id), name=run.name or run.run_id),
            inputs=[_input(ds) for ds in run.datasets],
            outputs=[output] if run.run_id == mv.run_id else [],
            producer=PRODUCER,
        )
        events.append(Serde.to_dict(event))
    return events
