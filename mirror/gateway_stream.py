"""The gateway's full read as a stream, for the full sync (`mirror.sync.apply_stream`). Part of the one gateway to
MLflow: it calls MLflow only through `mirror.gateway`'s plumbing (the same REST calls, timeouts, retries and error
mapping), imports no `mlflow` of its own and returns the same dataclasses.

The calls, their order and their batches are `gateway.read_registry`'s: registered models and versions by page,
experiments once, MLflow 3 logged models by id, then source runs by id. Instead of one snapshot at the end it
yields partial snapshots as it reads them — first the models with every version, then each chunk of logged models,
then each chunk of runs — so the sync writes one chunk while MLflow answers the next. Merged, they are the
snapshot `read_registry` returns.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings

from common.errors import MlflowNotFound
from mirror import gateway, searches
from mirror.mlflow_data import ProgressFn, RegistrySnapshot, parse_logged_model, parse_run


def iter_registry(progress: ProgressFn | None = None) -> Iterator[RegistrySnapshot]:
    """The whole registry, in partial snapshots (see the module's docstring)."""
    models = gateway.list_models(progress)
    versions = gateway.list_versions({m.name: m.aliases for m in models}, progress=progress)
    yield RegistrySnapshot(models=models, versions=versions)
    if not any(v.run_id or v.model_id for v in versions):
        return
    experiments = gateway._experiment_ids()
    source_runs: set[str] = set()
    for logged in _logged_model_chunks((v.model_id for v in versions), experiments):
        source_runs |= {m.source_run_id for m in logged.values()}
        yield RegistrySnapshot(logged_models=logged)
    for runs in searches.chunks_by_ids(
        gateway._pages, "/api/2.0/mlflow/runs/search", "runs", "attributes.run_id",
        {v.run_id for v in versions} | source_runs, parse_run, "run_id",
        batch=settings.MLFLOW_RUN_BATCH, progress=progress, experiment_ids=experiments, run_view_type="ALL",
    ):  # fmt: skip
        yield RegistrySnapshot(runs=runs)


def _logged_model_chunks(ids, experiments: list[str]) -> Iterator[dict]:
    """Logged models by id, a chunk at a time; an MLflow 2 server (no such endpoint: its first answer is a 404)
    has none. A 404 after some chunks were read is an error, as any other failure mid-read."""
    chunks = searches.chunks_by_ids(
        gateway._pages, "/api/2.0/mlflow/logged-models/search", "models", "model_id", ids, parse_logged_model,
        "model_id", batch=settings.MLFLOW_RUN_BATCH, experiment_ids=experiments,
    )  # fmt: skip
    try:
        first = next(chunks, None)
    except MlflowNotFound:
        return
    if first is not None:
        yield first
        yield from chunks
