"""The incremental reconcile's rules, pure (no ORM, no I/O): where to read back to, what the watermark moves to,
which registered models changed, which versions need their runs read again.

Timestamps are MLflow's own (`last_updated_timestamp`, ms since the epoch, MLflow's clock), never ours: a
reconcile's watermark is MLflow's time when its read began (the `Date` of MLflow's answer), a full read's the
newest stamp it saw, so our clock's skew against MLflow's does not matter. The overlap covers what remains:
MLflow replicas whose clocks differ, a write committed a little after the time it stamped, writes in the same
millisecond (or second) as the watermark, and run end times, which MLflow's clients stamp.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mirror.mlflow_data import MlflowModel, MlflowVersion, RegistrySnapshot


@dataclass(frozen=True)
class MirroredModel:
    """What the mirror holds of a registered model, as far as the incremental compares it."""

    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    deleted: bool


@dataclass(frozen=True)
class MirroredVersion:
    """What the mirror holds of a version, as far as deciding whether its run must be read again."""

    run_id: str
    has_run: bool  # the mirror links it to its source run


def cutoff(watermark_ms: int, overlap_ms: int) -> int:
    """Read back to here: everything MLflow stamped at or after it is read again (>=, so a write in the
    watermark's own millisecond is never lost)."""
    return max(0, watermark_ms - max(0, overlap_ms))


def newest(timestamps: Iterable[int | None]) -> int | None:
    """The newest of MLflow's timestamps, None when there is none."""
    seen = [t for t in timestamps if t is not None]
    return max(seen) if seen else None


def snapshot_watermark(snapshot: RegistrySnapshot) -> int | None:
    """The watermark a complete read of the registry establishes: the newest model or version it saw."""
    return newest(
        [m.last_updated_timestamp for m in snapshot.models]
        + [v.last_updated_timestamp for v in snapshot.versions]
    )


def advance(previous_ms: int, seen: Iterable[int | None]) -> int:
    """The next watermark: never backwards (a read that saw nothing newer keeps the previous one)."""
    latest = newest(seen)
    return previous_ms if latest is None else max(previous_ms, latest)


def changed_models(
    listed: Iterable[MlflowModel], mirrored: Mapping[str, MirroredModel], since_ms: int
) -> tuple[set[str], set[str]]:
    """(changed, gone) model names. Changed: new to the mirror, deleted there, stamped since the cutoff (a
    version created, deleted or moved between stages, a description edited, a rename), or differing in what
    MLflow changes without a stamp (tags, aliases). Gone: live in the mirror, missing from the complete listing."""
    changed: set[str] = set()
    names = set()
    for m in listed:
        names.add(m.name)
        row = mirrored.get(m.name)
        if (
            row is None
            or row.deleted
            or (m.last_updated_timestamp or 0) >= since_ms
            or (row.description, row.tags, row.aliases) != (m.description, m.tags, m.aliases)
        ):
            changed.add(m.name)
    gone = {name for name, row in mirrored.items() if not row.deleted and name not in names}
    return changed, gone


def versions_to_refresh(
    versions: Iterable[MlflowVersion], mirrored: Mapping[tuple[str, int], MirroredVersion], since_ms: int
) -> list[MlflowVersion]:
    """The versions whose source run (and logged model) must be read again: new to the mirror, stamped since
    the cutoff, registered from another run than the mirror has, or not yet linked to their run. The others
    keep the run the mirror holds (a run's new metrics are found by `mirror.reconcile`'s run checks)."""
    stale = []
    for v in versions:
        row = mirrored.get((v.name, v.version))
        if (
            row is None
            or (v.last_updated_timestamp or 0) >= since_ms
            or row.run_id != v.run_id
            or (bool(v.run_id) and not row.has_run)
        ):
            stale.append(v)
    return stale
