"""Champion and challenger: which versions hold the targets of a model, to compare a version with.

Governance sits above the comparison and owns the targets: it registers where they come from
(`provide_targets`, in approvals' AppConfig.ready), so this package never reads the policy itself."""

from __future__ import annotations

import logging
from collections.abc import Callable

from mirror import holders as mirror_holders
from mirror.models import ModelVersion

logger = logging.getLogger(__name__)

_targets_source: Callable[[str], dict[str, dict]] | None = None


def provide_targets(fn: Callable[[str], dict[str, dict]]) -> Callable[[str], dict[str, dict]]:
    """Register fn(model_name) -> the model's targets: {name: {"alias": X} or {"stage": X}}."""
    global _targets_source
    _targets_source = fn
    return fn


def targets_for(model_name: str) -> dict[str, dict]:
    """The model's targets from the registered source; none without one or when it fails (an invalid policy
    file): the holders then fall back to the model's aliases."""
    if _targets_source is None:
        return {}
    try:
        return dict(_targets_source(model_name))
    except Exception:
        logger.warning(
            "the targets of %s are unavailable; comparing with aliases only", model_name, exc_info=True
        )
        return {}


def target_holders(mv: ModelVersion, targets: dict[str, dict]) -> list[dict]:
    """[{name, version, via}] for each of the model's `targets` ({name: {"alias": X} or {"stage": X}}, what
    `targets_for` gives) and each other alias, held by another version than `mv`: the versions to compare it
    with. Holders as `mirror.holders` reads them (one query for the stage targets)."""
    model = mv.model
    found = mirror_holders.holders((model, mlflow_target) for mlflow_target in targets.values())
    holders: list[dict] = []
    covered: set[str] = set()
    for name, mlflow_target in targets.items():
        if "alias" in mlflow_target:
            covered.add(mlflow_target["alias"])
            via = f"alias {mlflow_target['alias']}"
        else:
            via = f"stage {mlflow_target.get('stage')}"
        version = found[mirror_holders.key(model, mlflow_target)]
        if version is not None and version != mv.version:
            holders.append({"name": name, "version": version, "via": via})
    for alias, version in sorted(model.aliases.items()):
        if alias not in covered and int(version) != mv.version:
            holders.append({"name": alias, "version": int(version), "via": f"alias {alias}"})
    return holders
