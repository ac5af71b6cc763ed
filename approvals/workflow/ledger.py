"""The target history the workflow keeps: who holds a target (TargetHolding), what is approved there (the
baseline drift is measured against), and drift records resolved on the audit chain."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from approvals.models import DriftRecord, Promotion, TargetHolding
from approvals.workflow.transitions import S, audit_event
from mirror import holders
from mirror.models import RegisteredModel


def move_holding(
    *,
    model: RegisteredModel,
    target: str,
    version: int | None,
    at: datetime,
    promotion: Promotion | None = None,
    source: str | None = None,
) -> None:
    """Close the target's open holding and open one for `version` (None: nothing holds the target now).
    `source` defaults to `promotion` when a promotion put it there, else `observed`."""
    if source is None:
        source = TargetHolding.Source.PROMOTION if promotion is not None else TargetHolding.Source.OBSERVED
    current = (
        TargetHolding.objects.select_for_update()
        .filter(model=model, target=target, held_to__isnull=True)
        .first()
    )
    if current is not None:
        if current.version == version and (
            promotion is None or current.promotion_id == getattr(promotion, "pk", None)
        ):
            return
        current.held_to = at
        current.save(update_fields=["held_to"])
    if version is not None:
        TargetHolding.objects.create(
            model=model, target=target, version=version, held_from=at, promotion=promotion, source=source
        )


def last_applied(*, model: RegisteredModel, target: str) -> Promotion | None:
    """The promotion applied last to this target of the model."""
    return (
        Promotion.objects.filter(model=model, target=target, state=S.APPLIED)
        .order_by("-applied_at", "-id")
        .first()
    )


def baseline(*, model: RegisteredModel, target: str) -> tuple[int, Promotion | None] | None:
    """What MLflow should show for a governed target: the version of the last applied promotion, or of a later
    staff adoption (with None for the promotion). None when this app governs nothing there yet."""
    last = last_applied(model=model, target=target)
    adopted = (
        TargetHolding.objects.filter(model=model, target=target, adopted_at__isnull=False)
        .order_by("-adopted_at", "-id")
        .first()
    )
    if adopted is not None and (
        last is None or last.applied_at is None or adopted.adopted_at > last.applied_at
    ):
        return adopted.version, None
    if last is None:
        return None
    return last.version.version, last


def resolve_drift(*, records: Iterable[DriftRecord], now: datetime, reason: str, version: int | None) -> None:
    """Mark open drift records resolved, each on the audit chain (a resolution is a state change too)."""
    for r in records:
        r.resolved_at = now
        r.save(update_fields=["resolved_at"])
        audit_event(
            actor=None,
            action="drift.resolved",
            object_type="drift",
            object_id=r.pk,
            data={
                "model": r.model.name,
                "target": r.target,
                "version": version,
                "mlflow_version": r.mlflow_version,
                "approved_version": r.approved_version,
                "reason": reason,
            },
        )


def current_holder(*, model: RegisteredModel, target: str, mlflow_target: dict) -> int | None:
    """The version holding `target` as the workflow must see it: the mirror's holder (`mirror.holders`), unless
    this app applied another version there after the mirror last read the model — the apply's own sync has not
    landed yet, and the mirror still shows the previous holder for a moment."""
    mirrored = holders.holder(model, mlflow_target)
    if model.synced_at is None:
        return mirrored
    newer = (
        TargetHolding.objects.filter(
            model=model,
            target=target,
            held_to__isnull=True,
            source=TargetHolding.Source.PROMOTION,
            held_from__gt=model.synced_at,
        )
        .values_list("version", flat=True)
        .first()
    )
    return newer if newer is not None else mirrored
