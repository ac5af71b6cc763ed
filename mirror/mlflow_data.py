"""What MLflow tells us, as our own dataclasses, and the pure reading of MLflow's REST JSON and a downloaded
model directory into them. No `mlflow` import here: mirror/gateway.py does the talking and uses these.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


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
    model_id: str = ""  # MLflow 3: the logged model the version was registered from ("" for MLflow 2 style)


@dataclass(frozen=True)
class MlflowLoggedModel:
    """An MLflow 3 logged model: its source run, params, and metrics (each linked to a dataset by name and
    digest when MLflow recorded one)."""

    model_id: str
    experiment_id: str
    name: str
    source_run_id: str
    status: str
    model_type: str
    artifact_uri: str
    creation_timestamp: int | None
    tags: dict[str, str]
    params: dict[str, str]
    metrics: list[dict[str, Any]]  # [{key, value, step, dataset_name, dataset_digest, run_id}]


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
    metrics: dict[str, float | None]  # None: not a finite number (see `finite`)
    params: dict[str, str]
    tags: dict[str, str]
    datasets: list[dict[str, Any]]


@dataclass(frozen=True)
class MetricPoint:
    step: int
    timestamp: int
    value: float | None  # None: not a finite number (see `finite`)


@dataclass
class RegistrySnapshot:
    """What one read of MLflow saw: complete for its scope, or not returned at all."""

    models: list[MlflowModel] = field(default_factory=list)
    versions: list[MlflowVersion] = field(default_factory=list)
    runs: dict[str, MlflowRun] = field(default_factory=dict)
    logged_models: dict[str, MlflowLoggedModel] = field(default_factory=dict)  # by model_id
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


def without_nul(obj: dict) -> dict:
    """A JSON object from MLflow with NUL characters dropped from its keys and strings (json.loads'
    object_hook): anyone who may write a tag or a dataset name in MLflow could otherwise stop every sync,
    since PostgreSQL stores no NUL in text or jsonb."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("\0", "")
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    return {clean(key): clean(value) for key, value in obj.items()}


def loads_without_nul(content: bytes) -> Any:
    """An answer of MLflow's REST API decoded, NUL characters dropped (`without_nul`). JSON carries a NUL only as
    the escape `\\u0000`, so an answer without that text is decoded as it is, at the C decoder's speed; only one
    with it is walked object by object (that walk tripled the decoding time of a full sync's pages)."""
    if b"\\u0000" in content:
        return json.loads(content, object_hook=without_nul)
    return json.loads(content)


def _kv(items: Iterable[dict] | None) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in items or ()}


def _int_or_none(value) -> int | None:
    return int(value) if value not in (None, "") else None


def finite(value) -> float | None:
    """MLflow accepts NaN and ±inf metrics; JSON (and PostgreSQL's jsonb) cannot hold them: None.
    The one rule for every metric value read from MLflow (latest values and histories): null in the mirror
    and the API, "NaN" on the pages."""
    number = float(value)
    return number if math.isfinite(number) else None


def quote_filter_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- parsing MLflow's JSON into our dataclasses ---------------------------------------------------
def parse_model(raw: dict) -> MlflowModel:
    return MlflowModel(
        name=raw["name"],
        description=raw.get("description") or "",
        tags=_kv(raw.get("tags")),
        aliases={a["alias"]: int(a["version"]) for a in raw.get("aliases") or ()},
        creation_timestamp=_int_or_none(raw.get("creation_timestamp")),
        last_updated_timestamp=_int_or_none(raw.get("last_updated_timestamp")),
    )


def parse_version(raw: dict, model_aliases: dict[str, int] | None) -> MlflowVersion:
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
        model_id=raw.get("model_id") or logged_model_id(raw.get("source") or ""),
    )


def logged_model_id(source: str) -> str:
    """The logged model a version's source names: MLflow 3 registers a logged model from `models:/<model_id>`
    (ids `m-<hex>`), and its server leaves the version's `model_id` out of REST answers. "" otherwise."""
    rest = source.removeprefix("models:/") if source.startswith("models:/") else ""
    return rest if rest.startswith("m-") and "/" not in rest else ""


def parse_logged_model(raw: dict) -> MlflowLoggedModel:
    info, data = raw.get("info") or {}, raw.get("data") or {}
    metrics = [
        {
            "key": m.get("key", ""),
            "value": finite(m["value"]) if m.get("value") is not None else None,
            "step": int(m.get("step") or 0),
            "dataset_name": m.get("dataset_name") or "",
            "dataset_digest": m.get("dataset_digest") or "",
            "run_id": m.get("run_id") or "",
        }
        for m in data.get("metrics") or ()
    ]
    return MlflowLoggedModel(
        model_id=info.get("model_id", ""),
        experiment_id=str(info.get("experiment_id", "")),
        name=info.get("name", ""),
        source_run_id=info.get("source_run_id") or "",
        status=str(info.get("status") or ""),
        model_type=info.get("model_type") or "",
        artifact_uri=info.get("artifact_uri") or "",
        creation_timestamp=_int_or_none(info.get("creation_timestamp_ms")),
        tags=_kv(info.get("tags")),
        params=_kv(data.get("params")),
        metrics=metrics,
    )


def parse_run(raw: dict) -> MlflowRun:
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
        metrics={m["key"]: finite(m["value"]) for m in data.get("metrics") or ()},
        params=_kv(data.get("params")),
        tags=_kv(data.get("tags")),
        datasets=datasets,
    )


# --- a downloaded model directory -------------------------------------------------------------------
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


def read_model_dir(local: Path) -> VersionArtifacts:
    """Content hash, signature, flavors and input example of a downloaded model directory (its MLmodel file)."""
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
