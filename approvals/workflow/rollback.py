"""Rolling a target back: which version to go back to by default, then a promotion of kind `rollback`."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser

from approvals.models import Promotion, TargetHolding
from approvals.workflow.ledger import current_holder
from approvals.workflow.requests import (
    already_holds,
    live_model,
    promotion_request,
    target_spec,
    version_number,
)
from approvals.workflow.transitions import S
from common.errors import InvalidInput
from mirror.models import RegisteredModel


def rollback_default_version(
    *, model: RegisteredModel, target: str, mlflow_target: dict
) -> tuple[int | None, int | None]:
    """(current holder, the version that held the target before it)."""
    current = current_holder(model=model, target=target, mlflow_target=mlflow_target)
    holdings = TargetHolding.objects.filter(model=model, target=target).order_by("-held_from", "-id")
    open_holding = holdings.filter(held_to__isnull=True).first()
    if current is None and open_holding is not None:
        current = open_holding.version
    for h in holdings.iterator(chunk_size=200):  # newest first, until another version shows up
        if h.version != current:
            return current, h.version
    last = (
        Promotion.objects.filter(model=model, target=target, state=S.APPLIED, previous_version__isnull=False)
        .exclude(previous_version=current)
        .order_by("-applied_at")
        .first()
    )
    return current, (last.previous_version if last else None)


def rollback_request(
    *,
    user: AbstractUser,
    model_name: str,
    target: str,
    to_version: int | str | None = None,
    justification: str = "",
) -> Promotion:
    """Request a rollback of the target to `to_version` (default: the version that held it before)."""
    model = live_model(model_name)
    spec = target_spec(model, target)
    current, default = rollback_default_version(model=model, target=spec.name, mlflow_target=spec.mlflow())
    if to_version in (None, ""):
        if default is None:
            raise InvalidInput(
                f"Nothing held {spec.name} before v{current}; name the version to roll back to.",
                to_version=["No earlier holder."],
            )
        to_version = default
    to_version = version_number(to_version, field="to_version")
    if current is not None and to_version == current:
        raise already_holds(model=model, target=spec.name, version=to_version, doing="rolling back to it")
    return promotion_request(
        user=user,
        model_name=model.name,
        version=to_version,
        target=spec.name,
        justification=justification,
        kind=Promotion.Kind.ROLLBACK,
    )
