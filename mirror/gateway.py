"""The one gateway to MLflow: the only app module that imports `mlflow`.

Reads go straight to MLflow's REST API through mlflow's own `http_request` (JSON in, our dataclasses out), in pages
and batches: registered models and versions by page, source runs and MLflow 3 logged models by id in chunks
(`mirror.searches`: `attributes.run_id IN (...)`, `model_id IN (...)`) — never one get per version. Writes use
`MlflowClient`. Every call has a short timeout and a small retry budget so a worker never hangs for minutes on a
dead server; failures surface as our own `MlflowUnavailable` / `MlflowNotFound` / `MlflowRejected`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import requests
from django.conf import settings

from common.errors import ArtifactTooLarge, MlflowNotFound, MlflowRejected, MlflowUnavailable
from mirror import searches
from mirror.mlflow_data import (
    MetricPoint,
    MlflowLoggedModel,
    MlflowModel,
    MlflowRun,
    MlflowVersion,
    ProgressFn,
    RegistrySnapshot,
    VersionArtifacts,
    finite,
    loads_without_nul,
    parse_logged_model,
    parse_model,
    parse_run,
    parse_version,
    quote_filter_value,
    read_model_dir,
)

# The client reads these at call time; the defaults (120 s timeout, 7 retries with backoff) would let a
# dead server hold a worker for minutes.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(settings.MLFLOW_TIMEOUT_SECONDS)))
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(settings.MLFLOW_MAX_RETRIES))
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")

from mlflow.artifacts import download_artifacts
from mlflow.exceptions import MlflowException, RestException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.tracking import MlflowClient
from mlflow.utils.rest_utils import MlflowHostCreds, http_request

REGISTRY_EVENTS = [
    "registered_model.created",
    "model_version.created",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
]


# --- plumbing -------------------------------------------------------------------------------------
def _host_creds() -> MlflowHostCreds:
    return MlflowHostCreds(
        host=settings.MLFLOW_TRACKING_URI.rstrip("/"),
        username=os.environ.get("MLFLOW_TRACKING_USERNAME"),
        password=os.environ.get("MLFLOW_TRACKING_PASSWORD"),
        token=os.environ.get("MLFLOW_TRACKING_TOKEN"),
        ignore_tls_verification=os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true",
    )


def _call(endpoint: str, method: str = "GET", **kwargs) -> dict:
    """One REST call; maps every failure to our own errors."""
    try:
        response = http_request(
            _host_creds(),
            endpoint,
            method,
            max_retries=settings.MLFLOW_MAX_RETRIES,
            backoff_factor=0.5,
            backoff_jitter=0.2,
            timeout=settings.MLFLOW_TIMEOUT_SECONDS,
            raise_on_status=False,
            **kwargs,
        )
    except (requests.RequestException, MlflowException, OSError) as exc:
        raise MlflowUnavailable(f"MLflow at {settings.MLFLOW_TRACKING_URI} is unreachable: {exc}") from exc
    if response.status_code == 200:
        try:
            return loads_without_nul(response.content)
        except ValueError as exc:
            raise MlflowUnavailable(f"MLflow answered {endpoint} with invalid JSON") from exc
    detail = _error_text(response)
    if response.status_code == 404 or "RESOURCE_DOES_NOT_EXIST" in detail:
        raise MlflowNotFound(detail)
    if response.status_code >= 500 or response.status_code == 429:
        raise MlflowUnavailable(f"MLflow answered {endpoint} with HTTP {response.status_code}: {detail}")
    raise MlflowRejected(f"MLflow refused {endpoint} (HTTP {response.status_code}): {detail}")


def _error_text(response) -> str:
    try:
        body = response.json()
        return f"{body.get('error_code', '')}: {body.get('message', '')}".strip(": ")
    except ValueError:
        return response.text[:300]


def _client_call(fn: Callable, *args, **kwargs):
    """Run an MlflowClient call with the same error mapping as `_call`."""
    try:
        return fn(*args, **kwargs)
    except RestException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise MlflowNotFound(str(exc)) from exc
        if exc.get_http_status_code() >= 500:
            raise MlflowUnavailable(str(exc)) from exc
        raise MlflowRejected(str(exc)) from exc
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise MlflowNotFound(str(exc)) from exc
        raise MlflowUnavailable(str(exc)) from exc
    except (requests.RequestException, OSError) as exc:
        raise MlflowUnavailable(f"MLflow at {settings.MLFLOW_TRACKING_URI} is unreachable: {exc}") from exc


def client() -> MlflowClient:
    return MlflowClient(tracking_uri=settings.MLFLOW_TRACKING_URI, registry_uri=settings.MLFLOW_TRACKING_URI)


def _pages(endpoint: str, key: str, method: str = "GET", **params) -> Iterator[list[dict]]:
    token = None
    while True:
        query = dict(params)
        if token:
            query["page_token"] = token
        if method == "GET":
            body = _call(endpoint, "GET", params=query)
        else:
            body = _call(endpoint, method, json=query)
        yield body.get(key, [])
        token = body.get("next_page_token")
        if not token:
            return


# --- reads ----------------------------------------------------------------------------------------
def health() -> bool:
    try:
        response = requests.get(
            settings.MLFLOW_TRACKING_URI.rstrip("/") + "/health",
            timeout=min(3, settings.MLFLOW_TIMEOUT_SECONDS),
        )
        return response.status_code == 200
    except requests.RequestException:
        return False


def list_models(progress: ProgressFn | None = None) -> list[MlflowModel]:
    models: list[MlflowModel] = []
    for page in _pages("/api/2.0/mlflow/registered-models/search", "registered_models", max_results=1000):
        models.extend(parse_model(raw) for raw in page)
        if progress:
            progress("models", len(models), None)
    return models


def get_model(name: str) -> MlflowModel:
    body = _call("/api/2.0/mlflow/registered-models/get", params={"name": name})
    return parse_model(body["registered_model"])


def list_versions(
    model_aliases: dict[str, dict[str, int]], name: str | None = None, progress: ProgressFn | None = None
) -> list[MlflowVersion]:
    """Every version (of one model when `name` is given). `model_aliases`: {model: {alias: version}}."""
    params: dict[str, Any] = {"max_results": settings.MLFLOW_PAGE_SIZE}
    if name is not None:
        params["filter"] = f"name={quote_filter_value(name)}"
    versions: list[MlflowVersion] = []
    for page in _pages("/api/2.0/mlflow/model-versions/search", "model_versions", **params):
        versions.extend(parse_version(raw, model_aliases.get(raw["name"])) for raw in page)
        if progress:
            progress("versions", len(versions), None)
    return versions


def _experiment_ids() -> list[str]:
    ids: list[str] = []
    for page in _pages(
        "/api/2.0/mlflow/experiments/search", "experiments", method="POST", max_results=1000, view_type="ALL"
    ):
        ids.extend(str(e["experiment_id"]) for e in page)
    return ids


def get_runs(
    run_ids: Iterable[str], progress: ProgressFn | None = None, experiments: list[str] | None = None
) -> dict[str, MlflowRun]:
    """Source runs by id, fetched in batches with `search_runs` (never one `get_run` each)."""
    return searches.by_ids(
        _pages, "/api/2.0/mlflow/runs/search", "runs", "attributes.run_id", run_ids, parse_run, "run_id",
        batch=settings.MLFLOW_RUN_BATCH, progress=progress, experiment_ids=experiments or _experiment_ids(),
        run_view_type="ALL",
    )  # fmt: skip


def get_logged_models(ids: Iterable[str], experiments: list[str] | None = None) -> dict[str, Any]:
    """MLflow 3 logged models by id, in batches with `logged-models/search`; an MLflow 2 server: none."""
    try:
        return searches.by_ids(
            _pages, "/api/2.0/mlflow/logged-models/search", "models", "model_id", ids, parse_logged_model,
            "model_id", batch=settings.MLFLOW_RUN_BATCH, experiment_ids=experiments or _experiment_ids(),
        )  # fmt: skip
    except MlflowNotFound:
        return {}


def _runs_and_logged_models(
    versions: list[MlflowVersion], progress: ProgressFn | None = None
) -> tuple[dict[str, MlflowRun], dict[str, MlflowLoggedModel]]:
    """The versions' source runs and logged models (experiments listed once for both)."""
    if not any(v.run_id or v.model_id for v in versions):
        return {}, {}
    experiments = _experiment_ids()
    logged = get_logged_models((v.model_id for v in versions), experiments)
    run_ids = {v.run_id for v in versions} | {m.source_run_id for m in logged.values()}
    return get_runs(run_ids, progress, experiments), logged


def read_registry(progress: ProgressFn | None = None) -> RegistrySnapshot:
    models = list_models(progress)
    versions = list_versions({m.name: m.aliases for m in models}, progress=progress)
    runs, logged = _runs_and_logged_models(versions, progress)
    return RegistrySnapshot(models=models, versions=versions, runs=runs, logged_models=logged)


def read_model(name: str) -> RegistrySnapshot:
    """One registered model with all its versions and their runs (the targeted sync's read)."""
    try:
        model = get_model(name)
    except MlflowNotFound:
        return RegistrySnapshot(scope_model=name, missing_model=True)
    versions = list_versions({model.name: model.aliases}, name=name)
    runs, logged = _runs_and_logged_models(versions)
    return RegistrySnapshot([model], versions, runs, logged, scope_model=name)


def metric_history(run_id: str, key: str) -> list[MetricPoint]:
    points: list[MetricPoint] = []
    for page in _pages(
        "/api/2.0/mlflow/metrics/get-history", "metrics", run_id=run_id, metric_key=key, max_results=25000
    ):
        points.extend(
            MetricPoint(
                step=int(m.get("step", 0)), timestamp=int(m.get("timestamp", 0)), value=finite(m["value"])
            )
            for m in page
        )
    points.sort(key=lambda p: (p.step, p.timestamp))
    return points


def read_version_artifacts(name: str, version: int) -> VersionArtifacts:
    """Download a version's artifacts once: content hash, signature, flavors, input example."""
    with tempfile.TemporaryDirectory(prefix="mv-") as tmp:
        # A `models:/` URI would be resolved against MLflow's process-wide registry URI (the environment),
        # not this server: ask our client where the version's files are, then fetch that location.
        location = _client_call(client().get_model_version_download_uri, name, str(version))
        local = Path(
            _client_call(
                download_artifacts,
                artifact_uri=location,
                dst_path=tmp,
                tracking_uri=settings.MLFLOW_TRACKING_URI,
            )
        )
        return read_model_dir(local)


def _artifact_files(repo, path: str = "") -> list[tuple[str, int | None]]:
    """Every file under `path` of an artifact repository, with its size when the store reports one."""
    files: list[tuple[str, int | None]] = []
    for info in _client_call(repo.list_artifacts, path or None):
        if info.is_dir:
            files.extend(_artifact_files(repo, info.path))
        else:
            files.append((info.path, info.file_size))
    return files


def download_model_dir(name: str, version: int, dst: Path, *, max_bytes: int) -> Path:
    """Download a version's model directory into `dst`, one file at a time; refuses (ArtifactTooLarge) when
    the listed sizes, or the bytes downloaded so far, pass `max_bytes`."""
    location = _client_call(client().get_model_version_download_uri, name, str(version))
    repo = _client_call(get_artifact_repository, location, tracking_uri=settings.MLFLOW_TRACKING_URI)
    files = _artifact_files(repo)
    if not files:
        raise MlflowNotFound(f"Version {version} of {name!r} has no model files in MLflow.")
    listed = sum(size or 0 for _, size in files)
    if listed > max_bytes:
        raise ArtifactTooLarge(listed, max_bytes)
    dst.mkdir(parents=True, exist_ok=True)
    total = 0
    for path, _ in files:
        total += Path(_client_call(repo.download_artifacts, path, str(dst))).stat().st_size
        if total > max_bytes:
            raise ArtifactTooLarge(total, max_bytes)
    return dst


def open_artifact(artifact_uri: str) -> tuple[BinaryIO, int]:
    """One artifact file (`runs:/<run_id>/<path>`) read from MLflow: (open file, size). The file is already
    unlinked from its temporary directory, so streaming it needs no clean-up."""
    with tempfile.TemporaryDirectory(prefix="artifact-") as tmp:
        local = Path(
            _client_call(
                download_artifacts,
                artifact_uri=artifact_uri,
                dst_path=tmp,
                tracking_uri=settings.MLFLOW_TRACKING_URI,
            )
        )
        if not local.is_file():
            raise MlflowNotFound(f"{artifact_uri} is not a file in MLflow.")
        return local.open("rb"), local.stat().st_size


# --- writes ---------------------------------------------------------------------------------------
def log_run_artifact(run_id: str, local_file: Path, artifact_path: str) -> str:
    """Log a file as an artifact of a run under `artifact_path` (replacing a file of the same name); returns
    its `runs:/` URI."""
    _client_call(client().log_artifact, run_id, str(local_file), artifact_path)
    return f"runs:/{run_id}/{artifact_path.strip('/')}/{local_file.name}"


def set_alias(name: str, alias: str, version: int) -> None:
    _client_call(client().set_registered_model_alias, name, alias, str(version))


def transition_stage(name: str, version: int, stage: str, archive_existing: bool) -> None:
    _client_call(
        client().transition_model_version_stage,
        name,
        str(version),
        stage,
        archive_existing_versions=archive_existing,
    )


def set_version_tag(name: str, version: int, key: str, value: str) -> None:
    """Set one tag of a model version (mirror.outbox applies these; it confirms with `get_version_tags`)."""
    _client_call(client().set_model_version_tag, name, str(version), key, value)


def get_version_tags(name: str, version: int) -> dict[str, str]:
    """The tags of one model version, read from MLflow now."""
    body = _call("/api/2.0/mlflow/model-versions/get", params={"name": name, "version": str(version)})
    return {t["key"]: t.get("value", "") for t in body["model_version"].get("tags") or ()}


def register_webhook(url: str, secret: str, name: str = "registry-governance") -> tuple[str, bool]:
    """Create or update our webhook in MLflow; returns (webhook id, created?)."""
    mlflow_client = client()
    existing = None
    token = None
    while True:
        page = _client_call(mlflow_client.list_webhooks, max_results=100, page_token=token)
        for hook in page:
            if hook.name == name or hook.url == url:
                existing = hook
                break
        token = getattr(page, "token", None)
        if existing or not token:
            break
    fields = {"name": name, "url": url, "events": REGISTRY_EVENTS, "secret": secret}
    if existing:
        _client_call(mlflow_client.update_webhook, existing.webhook_id, status="ACTIVE", **fields)
        return existing.webhook_id, False
    hook = _client_call(
        mlflow_client.create_webhook,
        description="Registry Governance mirror: targeted sync on registry events",
        **fields,
    )
    return hook.webhook_id, True


def version_ui_url(name: str, version: int) -> str:
    return f"{settings.MLFLOW_UI_URL.rstrip('/')}/#/models/{quote(name, safe='')}/versions/{version}"


# --- approvals (promotion workflow): confirm a stage transition -----------------------------------
def get_version_stage(name: str, version: int) -> str:
    """The current stage of one version, read from MLflow (the apply re-reads it to confirm)."""
    body = _call("/api/2.0/mlflow/model-versions/get", params={"name": name, "version": str(version)})
    return body["model_version"].get("current_stage") or "None"
