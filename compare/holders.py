"""Champion and challenger: which versions hold the targets of a model, to compare a version with.

Governance sits above the comparison and owns the targets: it registers where they come from
(`provide_targets`, in approvals' AppConfig.ready), so this package never reads the policy itself."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from mirror.models import ModelVersion

logger = logging.getLogger(__name__)

_targets_source: Callable[[str], Iterable[Any]] | None = None


def provide_targets(fn: Callable[[str], Iterable[Any]]) -> Callable[[str], Iterable[Any]]:
    """Register fn(model_name) -> the model's targets (objects with name, mlflow_alias, mlflow_stage)."""
    global _targets_source
    _targets_source = fn
    return fn


def targets_for(model_name: str) -> list[Any]:
    """The model's targets from the registered source; none without one or when it fails (an invalid policy
    file): the holders then fall back to the model's aliases."""
    if _targets_source is None:
        return []
    try:
        return list(_targets_source(model_name))
    except Exception:
        logger.warning(
            "the targets of %s are unavailable; comparing with aliases only", model_name, exc_info=True
        )
        return []


def target_holders(mv: ModelVersion, targets: Iterable[Any]) -> list[dict]:
    """[{name, version, via}] for each of the model's `targets` (name, mlflow_alias, mlflow_stage: what
    `targets_for` gives) and each other alias held by another version than `mv`: the versions to compare it
    with. One query for stage targets."""
    model = mv.model
    holders: list[dict] = []
    covered: set[str] = set()
    targets = list(targets)
    stages = [t.mlflow_stage for t in targets if not t.mlflow_alias and t.mlflow_stage]
    in_stage: dict[str, list[int]] = {}
    if stages:
        for version, stage in (
            ModelVersion.objects.live()
            .filter(model=model, stage__in=stages)
            .order_by("-version")
            .values_list("version", "stage")
        ):
            in_stage.setdefault(stage, []).append(version)
    for target in targets:
        if target.mlflow_alias:
            covered.add(target.mlflow_alias)
            version = model.aliases.get(target.mlflow_alias)
            versions = [int(version)] if version is not None else []
            via = f"alias {target.mlflow_alias}"
        else:
            versions = in_stage.get(target.mlflow_stage, [])[:1]
            via = f"stage {target.mlflow_stage}"
        holders += [{"name": target.name, "version": v, "via": via} for v in versions if v != mv.version]
    for alias, version in sorted(model.aliases.items()):
        if alias not in covered and int(version) != mv.version:
            holders.append({"name": alias, "version": int(version), "via": f"alias {alias}"})
    return holders
