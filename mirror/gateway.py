"""The one gateway to MLflow: the only app module that imports `mlflow`.

Reads go straight to MLflow's REST API through mlflow's own `http_request` (JSON in, our dataclasses out),
in pages and batches: registered models and versions by page, source runs with `search_runs` filtered by
`attributes.run_id IN (...)` in chunks — never one `get_run` per version. Writes use `MlflowClient`.
Every call has a short timeout and a small retry budget so a worker never hangs for minutes on a dead
server; failures surface as our own `MlflowUnavailable` / `MlflowNotFound` / `MlflowRejected`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from django.conf import settings

from common.errors import MlflowNotFound, MlflowRejected, MlflowUnavailable

# The client reads these at call time; the defaults (120 s timeout, 7 retries with backoff) would let a
# dead server hold a worker for minutes.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(settings.MLFLOW_TIMEOUT_SECONDS)))
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(settings.MLFLOW_MAX_RETRIES))
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")

from mlflow.exceptions import MlflowException, RestException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from mlflow.utils.rest_utils import MlflowHostCreds, http_request  # noqa: E402

REGISTRY_EVENTS = [
    "registered_model.created",
    "model_version.created",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
]


# --- our own data ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class MlflowModel:
    name: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    creation_timestamp: int | None  # ms since the epoch, as MLflow gives them
    last_updated_timestamp: int | None


@dataclass(frozen=True)
class MlflowVersion:
    name: str
    version: int
    stage: str
    status: str
    status_message: str
    aliases: list[str]
    tags: dict[str, str]
    description: str
    source: str
    run_id: str
    user_id: str | None
    creation_timestamp: int | None
    last_updated_timestamp: int | None


@dataclass(frozen=True)
class MlflowRun:
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    user_id: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    metrics: dict[str, float | None]  # None: not a finite number (see `_finite`)
    params: dict[str, str]
    tags: dict[str, str]
    datasets: list[dict[str, Any]]


@dataclass(frozen=True)
class MetricPoint:
    step: int
    timestamp: int
    value: float | None  # None: not a finite number (see `_finite`)


@dataclass
class RegistrySnapshot:
    """What one read of MLflow saw: complete for its scope, or not returned at all."""

    models: list[MlflowModel] = field(default_factory=list)
    versions: list[MlflowVersion] = field(default_factory=list)
    runs: dict[str, MlflowRun] = field(default_factory=dict)
    # A targeted read names its model; None means the whole registry.
    scope_model: str | None = None
    missing_model: bool = False  # the targeted model no longer exists in MLflow


@dataclass(frozen=True)
class VersionArtifacts:
    content_hash: str  # sha256:<hex> over the artifact files (see `hash_artifact_tree`)
    signature: dict | None
    flavors: list[str]
    input_example: Any | None


ProgressFn = Callable[[str, int, int | None], None]  # (phase, done, total or None)


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
            return response.json()
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


def _kv(items: Iterable[dict] | None) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in items or ()}


def _int_or_none(value) -> int | None:
    return int(value) if value not in (None, "") else None


def _finite(value) -> float | None:
    """MLflow accepts NaN and ±inf metrics; JSON (and PostgreSQL's jsonb) cannot hold them: None.
    The one rule for every metric value read from MLflow (latest values and histories): null in the mirror
    and the API, "NaN" on the pages."""
    number = float(value)
    return number if math.isfinite(number) else None


def quote_filter_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- parsing MLflow's JSON into our dataclasses ---------------------------------------------------
def _parse_model(raw: dict) -> MlflowModel:
    return MlflowModel(
        name=raw["name"],
        description=raw.get("description") or "",
        tags=_kv(raw.get("tags")),
        aliases={a["alias"]: int(a["version"]) for a in raw.get("aliases") or ()},
        creation_timestamp=_int_or_none(raw.get("creation_timestamp")),
        last_updated_timestamp=_int_or_none(raw.get("last_updated_timestamp")),
    )


def _parse_version(raw: dict, model_aliases: dict[str, int] | None) -> MlflowVersion:
    version = int(raw["version"])
    aliases = raw.get("aliases")
    if aliases is None or model_aliases is not None:
        # The registered model's alias map is authoritative; search results may omit aliases.
        aliases = sorted(a for a, v in (model_aliases or {}).items() if v == version)
    return MlflowVersion(
        name=raw["name"],
        version=version,
        stage=raw.get("current_stage") or "None",
        status=raw.get("status") or "",
        status_message=raw.get("status_message") or "",
        aliases=sorted(aliases),
        tags=_kv(raw.get("tags")),
        description=raw.get("description") or "",
        source=raw.get("source") or "",
        run_id=raw.get("run_id") or "",
        user_id=raw.get("user_id") or None,
        creation_timestamp=_int_or_none(raw.get("creation_timestamp")),
        last_updated_timestamp=_int_or_none(raw.get("last_updated_timestamp")),
    )


def _parse_run(raw: dict) -> MlflowRun:
    info, data = raw.get("info", {}), raw.get("data", {})
    datasets = []
    for dataset_input in (raw.get("inputs") or {}).get("dataset_inputs") or ():
        ds = dataset_input.get("dataset") or {}
        input_tags = _kv(dataset_input.get("tags"))
        datasets.append(
            {
                "name": ds.get("name", ""),
                "digest": ds.get("digest", ""),
                "source_type": ds.get("source_type", ""),
                "source": ds.get("source", ""),
                "context": input_tags.get("mlflow.data.context", ""),
                "schema": ds.get("schema", ""),
                "profile": ds.get("profile", ""),
            }
        )
    return MlflowRun(
        run_id=info.get("run_id") or info.get("run_uuid"),
        experiment_id=str(info.get("experiment_id", "")),
        run_name=info.get("run_name", ""),
        status=info.get("status", ""),
        user_id=info.get("user_id", ""),
        start_time=_int_or_none(info.get("start_time")),
        end_time=_int_or_none(info.get("end_time")),
        artifact_uri=info.get("artifact_uri", ""),
        metrics={m["key"]: _finite(m["value"]) for m in data.get("metrics") or ()},
        params=_kv(data.get("params")),
        tags=_kv(data.get("tags")),
        datasets=datasets,
    )


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
        models.extend(_parse_model(raw) for raw in page)
        if progress:
            progress("models", len(models), None)
    return models


def get_model(name: str) -> MlflowModel:
    body = _call("/api/2.0/mlflow/registered-models/get", params={"name": name})
    return _parse_model(body["registered_model"])


def list_versions(
    model_aliases: dict[str, dict[str, int]], name: str | None = None, progress: ProgressFn | None = None
) -> list[MlflowVersion]:
    """Every version (of one model when `name` is given). `model_aliases`: {model: {alias: version}}."""
    params: dict[str, Any] = {"max_results": settings.MLFLOW_PAGE_SIZE}
    if name is not None:
        params["filter"] = f"name={quote_filter_value(name)}"
    versions: list[MlflowVersion] = []
    for page in _pages("/api/2.0/mlflow/model-versions/search", "model_versions", **params):
        versions.extend(_parse_version(raw, model_aliases.get(raw["name"])) for raw in page)
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


def get_runs(run_ids: Iterable[str], progress: ProgressFn | None = None) -> dict[str, MlflowRun]:
    """Source runs by id, fetched in batches with `search_runs` (never one `get_run` each)."""
    wanted = sorted({r for r in run_ids if r})
    if not wanted:
        return {}
    experiments = _experiment_ids()
    runs: dict[str, MlflowRun] = {}
    batch = settings.MLFLOW_RUN_BATCH
    for start in range(0, len(wanted), batch):
        chunk = wanted[start : start + batch]
        run_filter = "attributes.run_id IN (" + ",".join(quote_filter_value(r) for r in chunk) + ")"
        for page in _pages(
            "/api/2.0/mlflow/runs/search",
            "runs",
            method="POST",
            experiment_ids=experiments,
            filter=run_filter,
            max_results=len(chunk),
            run_view_type="ALL",
        ):
            for raw in page:
                run = _parse_run(raw)
                runs[run.run_id] = run
        if progress:
            progress("runs", min(start + batch, len(wanted)), len(wanted))
    return runs


def read_registry(progress: ProgressFn | None = None) -> RegistrySnapshot:
    models = list_models(progress)
    versions = list_versions({m.name: m.aliases for m in models}, progress=progress)
    runs = get_runs((v.run_id for v in versions), progress)
    return RegistrySnapshot(models=models, versions=versions, runs=runs)


def read_model(name: str) -> RegistrySnapshot:
    """One registered model with all its versions and their runs (the targeted sync's read)."""
    try:
        model = get_model(name)
    except MlflowNotFound:
        return RegistrySnapshot(scope_model=name, missing_model=True)
    versions = list_versions({model.name: model.aliases}, name=name)
    runs = get_runs(v.run_id for v in versions)
    return RegistrySnapshot(models=[model], versions=versions, runs=runs, scope_model=name)


def metric_history(run_id: str, key: str) -> list[MetricPoint]:
    points: list[MetricPoint] = []
    for page in _pages(
        "/api/2.0/mlflow/metrics/get-history", "metrics", run_id=run_id, metric_key=key, max_results=25000
    ):
        points.extend(
            MetricPoint(
                step=int(m.get("step", 0)), timestamp=int(m.get("timestamp", 0)), value=_finite(m["value"])
            )
            for m in page
        )
    points.sort(key=lambda p: (p.step, p.timestamp))
    return points


def hash_artifact_tree(root: Path) -> str:
    """sha256 over the sorted lines "<relative path>\\0<sha256 of file>\\n" of every file under root."""
    outer = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        inner = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                inner.update(block)
        outer.update(f"{path.relative_to(root).as_posix()}\0{inner.hexdigest()}\n".encode())
    return "sha256:" + outer.hexdigest()


def read_version_artifacts(name: str, version: int) -> VersionArtifacts:
    """Download a version's artifacts once: content hash, signature, flavors, input example."""
    import yaml  # noqa: PLC0415
    from mlflow.artifacts import download_artifacts  # noqa: PLC0415

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
        content_hash = hash_artifact_tree(local)
        mlmodel_path = local / "MLmodel"
        signature = None
        flavors: list[str] = []
        example = None
        if mlmodel_path.exists():
            meta = yaml.safe_load(mlmodel_path.read_text()) or {}
            flavors = sorted((meta.get("flavors") or {}).keys())
            raw_sig = meta.get("signature") or None
            if raw_sig:
                signature = {
                    "inputs": json.loads(raw_sig["inputs"]) if raw_sig.get("inputs") else [],
                    "outputs": json.loads(raw_sig["outputs"]) if raw_sig.get("outputs") else [],
                }
            example_info = meta.get("saved_input_example_info") or {}
            example_file = example_info.get("artifact_path")
            if example_file and (local / example_file).exists():
                try:
                    example = json.loads((local / example_file).read_text())
                except ValueError:
                    example = None
        return VersionArtifacts(
            content_hash=content_hash, signature=signature, flavors=flavors, input_example=example
        )


# --- writes ---------------------------------------------------------------------------------------
def set_alias(name: str, alias: str, version: int) -> None:
    _client_call(client().set_registered_model_alias, name, alias, str(version))


def delete_alias(name: str, alias: str) -> None:
    _client_call(client().delete_registered_model_alias, name, alias)


def transition_stage(name: str, version: int, stage: str, archive_existing: bool) -> None:
    _client_call(
        client().transition_model_version_stage,
        name,
        str(version),
        stage,
        archive_existing_versions=archive_existing,
    )


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
    if existing:
        _client_call(
            mlflow_client.update_webhook,
            existing.webhook_id,
            name=name,
            url=url,
            events=REGISTRY_EVENTS,
            secret=secret,
            status="ACTIVE",
        )
        return existing.webhook_id, False
    hook = _client_call(
        mlflow_client.create_webhook,
        name=name,
        url=url,
        events=REGISTRY_EVENTS,
        secret=secret,
        description="Registry Governance mirror: targeted sync on registry events",
    )
    return hook.webhook_id, True


def version_ui_url(name: str, version: int) -> str:
    from urllib.parse import quote  # noqa: PLC0415

    return f"{settings.MLFLOW_UI_URL.rstrip('/')}/#/models/{quote(name, safe='')}/versions/{version}"


# --- approvals (promotion workflow): confirm a stage transition -----------------------------------
def get_version_stage(name: str, version: int) -> str:
    """The current stage of one version, read from MLflow (the apply re-reads it to confirm)."""
    body = _call("/api/2.0/mlflow/model-versions/get", params={"name": name, "version": str(version)})
    return body["model_version"].get("current_stage") or "None"
