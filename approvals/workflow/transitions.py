"""The promotion row under lock, its state changes, and the one way the workflow writes to the audit chain."""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AbstractUser
from django.db import connection

from approvals.models import Promotion
from audit.services import record
from common.errors import NotFound
from mirror.models import ModelVersion, RegisteredModel

S = Promotion.State
# Who did it, as the audit chain records it: a user, a name, or None for the system (a task, a hook).
Actor: TypeAlias = AbstractUser | str | None


def audit_event(
    *,
    actor: Actor,
    action: str,
    promotion: Promotion | None = None,
    object_type: str = "promotion",
    object_id: object = None,
    data: dict | None = None,
) -> None:
    """Append one workflow event to the audit chain (in the caller's transaction). With a promotion, its model,
    version, target, kind and state are part of the event's data."""
    if promotion is not None:
        object_id = promotion.pk
        base = {
            "model": promotion.model.name,
            "version": promotion.version.version,
            "target": promotion.target,
            "kind": promotion.kind,
            "state": promotion.state,
        }
        data = {**base, **(data or {})}
    record(
        actor=actor_name(actor), action=action, object_type=object_type, object_id=str(object_id), data=data
    )


def audit_holding_event(
    *,
    actor: Actor,
    action: str,
    model_name: str,
    target: str,
    mlflow: object,
    object_type: str = "model",
    object_id: object = None,
    **data: object,
) -> None:
    """Append one event about what holds a model's target (observed, adopted, drifted): its data start with the
    model, the target and the MLflow alias or stage the target maps to. The event is about the model unless
    another object is named."""
    audit_event(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=model_name if object_id is None else object_id,
        data={"model": model_name, "target": target, "mlflow": mlflow, **data},
    )


def actor_name(actor: Actor) -> str:
    """The name the audit chain records: "system" for None, the username of a user, a string as it is."""
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return actor.get_username()


def pin_mirror_rows(model_id: int, version_id: int | None = None) -> None:
    """Take now the row locks PostgreSQL's deferred foreign-key checks would take at COMMIT (FOR KEY SHARE on
    the model and version rows), i.e. before the audit chain's advisory lock: the same order as the sync and
    the cards feature (row lock, then audit), so the two can never deadlock."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {RegisteredModel._meta.db_table} WHERE id = %s FOR KEY SHARE", [model_id]
        )
        if version_id is not None:
            cursor.execute(
                f"SELECT 1 FROM {ModelVersion._meta.db_table} WHERE id = %s FOR KEY SHARE", [version_id]
            )


def lock(promotion_id: int) -> Promotion:
    """The promotion, its row locked for the caller's transaction; NotFound when there is none."""
    p = Promotion.objects.select_for_update().filter(pk=promotion_id).first()
    if p is None:
        raise NotFound(f"No promotion #{promotion_id}.")
    pin_mirror_rows(p.model_id, p.version_id)
    # select_related would lock the joined rows too; load the small related rows separately.
    p.model = RegisteredModel.objects.get(pk=p.model_id)
    p.version = ModelVersion.objects.select_related("source_run").get(pk=p.version_id)
    return p


def read(promotion_id: int) -> Promotion:
    """The promotion without a lock; NotFound when there is none."""
    p = Promotion.objects.select_related("model", "version__source_run").filter(pk=promotion_id).first()
    if p is None:
        raise NotFound(f"No promotion #{promotion_id}.")
    return p


def set_state(
    p: Promotion, state: str, *, actor: Actor, action: str, data: dict | None = None, **fields: object
) -> None:
    """Move the (locked) promotion to `state`, saving `fields` with it, and audit the move as `action`."""
    previous = p.state
    p.state = state
    for name, value in fields.items():
        setattr(p, name, value)
    p.save(update_fields=["state", "updated_at", *fields.keys()])
    audit_event(actor=actor, action=action, promotion=p, data={"from": previous, "to": state, **(data or {})})
