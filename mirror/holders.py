"""Which version holds a target in the mirror: the one answer every page, service and export uses.

A target is an MLflow alias (`{"alias": name}`: the version the alias points at) or a stage
(`{"stage": name}`: the highest live version in that stage; MLflow lets several share one, and the newest is
the one serving). Reads the mirror only: aliases on the model row, stages on the version rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Max

from mirror.models import ModelVersion, RegisteredModel


def holder(model: RegisteredModel, mlflow_target: dict) -> int | None:
    """The version holding an alias or stage in the mirror (the highest one for a stage), or None."""
    if "alias" in mlflow_target:
        value = (model.aliases or {}).get(mlflow_target["alias"])
        return int(value) if value is not None else None
    return (
        ModelVersion.objects.live()
        .filter(model=model, stage=mlflow_target.get("stage"))
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )


def holders(
    pairs: Iterable[tuple[RegisteredModel, dict]],
) -> dict[tuple[int, str, str], int | None]:
    """The bulk form of `holder`, in one query for every stage target: {(model pk, "alias" | "stage", name):
    version or None} for each (model, mlflow_target) pair. Use `key(model, mlflow_target)` to read it."""
    pairs = list(pairs)
    stages = {t["stage"] for _, t in pairs if "alias" not in t and t.get("stage")}
    model_ids = {m.pk for m, t in pairs if "alias" not in t}
    by_stage: dict[tuple[int, str], int] = {}
    if stages and model_ids:
        rows = (
            ModelVersion.objects.live()
            .filter(model_id__in=model_ids, stage__in=stages)
            .values("model_id", "stage")
            .annotate(top=Max("version"))
        )
        by_stage = {(r["model_id"], r["stage"]): r["top"] for r in rows}
    out: dict[tuple[int, str, str], int | None] = {}
    for model, target in pairs:
        if "alias" in target:
            value = (model.aliases or {}).get(target["alias"])
            out[key(model, target)] = int(value) if value is not None else None
        else:
            out[key(model, target)] = by_stage.get((model.pk, target.get("stage")))
    return out


def key(model: RegisteredModel, mlflow_target: dict) -> tuple[int, str, str]:
    """The key of one (model, target) in the dict `holders` returns."""
    if "alias" in mlflow_target:
        return (model.pk, "alias", mlflow_target["alias"])
    return (model.pk, "stage", mlflow_target.get("stage") or "")
