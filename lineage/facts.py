"""The facts a lineage graph is built from (plain frozen dataclasses, no ORM, no I/O), and their reading from the
mirror's row values. `lineage.graph` builds the graph from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_DEPTH = 6
DEFAULT_MAX_NODES = 2000
EVALUATION_CONTEXTS = frozenset({"eval", "evaluation", "validation", "test", "testing"})
# MLflow's dataset source types (mlflow.data's sources and the artifact repositories a file source may name).
KNOWN_SOURCE_TYPES = frozenset(
    {
        "local", "http", "https", "s3", "gs", "wasbs", "abfss", "hdfs", "dbfs", "ftp", "sftp", "file",
        "code", "spark", "delta_table", "hugging_face", "uc_volume", "mlflow_evaluation_dataset",
        "databricks_uc_table",
    }
)  # fmt: skip
PARENT_RUN_TAG = "mlflow.parentRunId"
COMMIT_TAG = "mlflow.source.git.commit"
REPO_TAG = "mlflow.source.git.repoURL"
SOURCE_NAME_TAG = "mlflow.source.name"
SOURCE_TYPE_TAG = "mlflow.source.type"
ENTRY_POINT_TAG = "mlflow.project.entryPoint"


# --- facts in -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetFact:
    name: str = ""
    digest: str = ""
    source_type: str = ""
    source: str = ""
    context: str = ""

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> DatasetFact:
        """One entry of a mirrored run's `datasets` (missing or non-string fields read as "")."""

        def text(key: str) -> str:
            value = entry.get(key)
            return value.strip() if isinstance(value, str) else ""

        return cls(
            name=text("name"),
            digest=text("digest"),
            source_type=text("source_type"),
            source=text("source"),
            context=text("context"),
        )


@dataclass(frozen=True)
class RunFact:
    run_id: str
    name: str = ""
    status: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    datasets: tuple[DatasetFact, ...] = ()
    mirrored: bool = True  # False: named by a child's parent tag, not in the mirror

    @property
    def parent_run_id(self) -> str:
        return str(self.tags.get(PARENT_RUN_TAG) or "")


@dataclass(frozen=True)
class SignatureFact:
    username: str
    printed_name: str
    decision: str
    meaning: str
    signed_at: str  # ISO-8601
    counts: bool = True


@dataclass(frozen=True)
class PromotionFact:
    id: int
    kind: str
    target: str
    state: str
    requested_by: str
    requested_at: str
    applied_at: str | None
    signatures: tuple[SignatureFact, ...] = ()


@dataclass(frozen=True)
class HoldingFact:
    target: str
    held_from: str
    held_to: str | None  # None: holds it now
    source: str = ""
    promotion_id: int | None = None


@dataclass(frozen=True)
class LoggedModelFact:
    """An MLflow 3 logged model: the version was registered from it, its source run logged it."""

    model_id: str
    name: str = ""
    source_run_id: str = ""
    status: str = ""
    model_type: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    # [{key, value, step, dataset_name, dataset_digest}]: a metric names the dataset it was computed on
    metrics: tuple[Mapping[str, Any], ...] = ()
    mirrored: bool = True  # False: the version names it, the mirror does not hold it


@dataclass(frozen=True)
class PackageFact:
    """A package built from the version (a succeeded packaging job)."""

    id: int
    format: str
    sha256: str = ""
    size_bytes: int | None = None
    parity_passed: bool | None = None
    artifact_uri: str = ""


@dataclass(frozen=True)
class VersionFacts:
    """Everything the graph of one version reads."""

    model: str
    version: int
    run_id: str = ""
    stage: str = ""
    status: str = ""
    aliases: tuple[str, ...] = ()
    runs: Mapping[str, RunFact] = field(default_factory=dict)  # the source run and its ancestors, by run_id
    logged_model: LoggedModelFact | None = None  # None: registered from a run's artifacts (MLflow 2 style)
    holdings: tuple[HoldingFact, ...] = ()
    promotions: tuple[PromotionFact, ...] = ()
    packages: tuple[PackageFact, ...] = ()


def runs_from_rows(rows: Iterable[tuple[str, str, str, Mapping[str, str], list[Any]]]) -> dict[str, RunFact]:
    """RunFacts from (run_id, name, status, tags, datasets) rows as the mirror holds them."""
    out: dict[str, RunFact] = {}
    for run_id, name, status, tags, datasets in rows:
        out[run_id] = RunFact(
            run_id=run_id,
            name=name,
            status=status,
            tags={str(k): str(v) for k, v in (tags or {}).items()},
            datasets=tuple(
                DatasetFact.from_entry(d if isinstance(d, Mapping) else {}) for d in datasets or ()
            ),
        )
    return out


def logged_model_from_row(
    model_id: str, row: tuple[str, str, str, str, Mapping[str, str], list[Any]] | None
) -> LoggedModelFact:
    """A LoggedModelFact from (name, source_run_id, status, model_type, params, metrics) as the mirror holds them
    (None: the mirror does not hold the logged model the version names)."""
    if row is None:
        return LoggedModelFact(model_id=model_id, mirrored=False)
    name, source_run_id, status, model_type, params, metrics = row
    return LoggedModelFact(
        model_id=model_id,
        name=name,
        source_run_id=source_run_id,
        status=status,
        model_type=model_type,
        params={str(k): str(v) for k, v in (params or {}).items()},
        metrics=tuple(m for m in metrics or () if isinstance(m, Mapping)),
    )
