"""Dataset flags: staff mark a dataset (by digest) as wrong, audited; the gate `training_data_not_flagged`
reads the active flags on the data a version's runs trained on (registered with governance in apps.ready)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit import services as audit
from common.errors import Conflict, InvalidInput, NotFound
from lineage import graph, selectors
from lineage.models import DatasetFlag
from mirror.models import ModelVersion

MAX_DIGEST = 255
MAX_REASON = 2000


def as_dict(f: DatasetFlag) -> dict[str, Any]:
    return {
        "digest": f.digest,
        "reason": f.reason,
        "flagged_by": f.flagged_by.get_username(),
        "flagged_at": f.flagged_at.isoformat(),
        "lifted_by": f.lifted_by.get_username() if f.lifted_by_id else None,
        "lifted_at": f.lifted_at.isoformat() if f.lifted_at else None,
        "active": f.active,
    }


def _text(data: Any, key: str, limit: int) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{key} is required: a non-empty string.")
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{key} is {len(value)} characters long; the limit is {limit}.")
    return value


def flag(*, user, data: Any) -> DatasetFlag:
    """Flag the dataset with `data["digest"]` for `data["reason"]`; 409 when it is flagged already."""
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object with digest and reason.")
    digest = _text(data, "digest", MAX_DIGEST)
    reason = _text(data, "reason", MAX_REASON)
    try:
        with transaction.atomic():
            if DatasetFlag.objects.select_for_update().filter(digest=digest, lifted_at__isnull=True).exists():
                raise Conflict(f"The dataset {digest} is flagged already; lift that flag first.")
            f = DatasetFlag.objects.create(
                digest=digest, reason=reason, flagged_by=user, flagged_at=timezone.now()
            )
            audit.record(
                actor=user.get_username(),
                action="dataset.flagged",
                object_type="dataset",
                object_id=digest,
                data={"reason": reason, "flag_id": f.pk},
            )
    except IntegrityError:  # a concurrent flag of the same digest won the race
        raise Conflict(f"The dataset {digest} is flagged already; lift that flag first.") from None
    return f


def lift(*, user, digest: str) -> DatasetFlag:
    """Lift the active flag of `digest` (the row stays, with who lifted it and when); 404 without one."""
    with transaction.atomic():
        f = (
            DatasetFlag.objects.select_for_update()
            .filter(digest=digest, lifted_at__isnull=True)
            .order_by("-flagged_at")
            .first()
        )
        if f is None:
            raise NotFound(f"No active flag on the dataset {digest[:MAX_DIGEST]}.")
        f.lifted_by = user
        f.lifted_at = timezone.now()
        f.save(update_fields=["lifted_by", "lifted_at"])
        audit.record(
            actor=user.get_username(),
            action="dataset.flag_lifted",
            object_type="dataset",
            object_id=digest,
            data={"reason": f.reason, "flag_id": f.pk},
        )
    return f


def listing(*, include_lifted: bool = True) -> list[DatasetFlag]:
    qs = DatasetFlag.objects.select_related("flagged_by", "lifted_by")
    if not include_lifted:
        qs = qs.filter(lifted_at__isnull=True)
    return list(qs)


def trained_on(mv: ModelVersion) -> dict[str, list[str]]:
    """{digest: [run ids]} of the datasets the version's source run and its parent chain trained on."""
    runs = selectors.version_runs(mv)
    out: dict[str, list[str]] = {}
    for run in runs.values():
        for ds in run.datasets:
            if ds.digest and graph.dataset_edge_type(ds.context) == "trained_on":
                out.setdefault(ds.digest, [])
                if run.run_id not in out[ds.digest]:
                    out[ds.digest].append(run.run_id)
    return out


def flagged_training_data(mv: ModelVersion) -> list[dict]:
    """The gate's input: one entry per (active flag, run that trained on it) of the version's lineage."""
    used = trained_on(mv)
    if not used:
        return []
    flags = DatasetFlag.objects.select_related("flagged_by").filter(
        digest__in=list(used), lifted_at__isnull=True
    )
    return [
        {
            "digest": f.digest,
            "reason": f.reason,
            "flagged_by": f.flagged_by.get_username(),
            "flagged_at": f.flagged_at.isoformat(),
            "run_id": run_id,
        }
        for f in flags
        for run_id in used[f.digest]
    ]
