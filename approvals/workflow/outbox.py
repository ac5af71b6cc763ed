"""The outbox apply: an approved promotion (or a drift revert) written to MLflow by a worker, until done.

Idempotent: MLflow writes are "set to X", re-confirmed by a read. Three steps, never a row lock held across the
network: claim the item (a lease), talk to MLflow, record the outcome (applied, or a retry with backoff).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from approvals import states
from approvals.models import DriftRecord, OutboxItem, Promotion
from approvals.selectors import pending_outbox
from approvals.workflow import queue
from approvals.workflow.ledger import baseline, move_holding, resolve_drift
from approvals.workflow.quorum import unbind_if_changed
from approvals.workflow.transitions import S, audit_event, lock, pin_mirror_rows, set_state
from common.errors import MlflowNotFound, MlflowRejected, MlflowUnavailable
from mirror import gateway, sync
from mirror.models import RegisteredModel


def _backoff(attempts: int) -> float:
    return float(min(2**attempts, settings.OUTBOX_MAX_BACKOFF_SECONDS))


def _mlflow_holder(name: str, mlflow_target: dict, version: int) -> int | None:
    """Read MLflow: the version holding an alias, or for a stage whether `version` is in it."""
    if "alias" in mlflow_target:
        return gateway.get_model(name).aliases.get(mlflow_target["alias"])
    stage = gateway.get_version_stage(name, version)
    return version if stage == mlflow_target.get("stage") else None


def _write_mlflow(name: str, mlflow_target: dict, version: int) -> None:
    if "alias" in mlflow_target:
        gateway.set_alias(name, mlflow_target["alias"], version)
    else:
        gateway.transition_stage(name, version, mlflow_target["stage"], archive_existing=True)


@dataclass
class _Talk:
    """What step 2 (MLflow) found: an error (None: confirmed), whether MLflow refused, who held it before."""

    error: str | None = None
    rejected: bool = False
    holder_before: int | None = None


def apply(*, outbox_id: int, now: datetime | None = None) -> tuple[str, float | None]:
    """Apply one outbox item to MLflow. Returns (outcome, retry_in_seconds): outcome is one of
    applied | done | skipped | retry | failed | invalidated."""
    now = now or timezone.now()
    claimed = _claim(outbox_id, now)
    if isinstance(claimed, tuple):
        return claimed
    talk = _talk(claimed)
    return _record(outbox_id, talk, attempts=claimed.attempts)


def _claim(outbox_id: int, now: datetime) -> OutboxItem | tuple[str, float | None]:
    """Step 1: lease the item so a second worker or the sweep does not take it at the same time. Returns the
    item, or the outcome when there is nothing to do now."""
    with transaction.atomic():
        item = OutboxItem.objects.select_for_update(skip_locked=True).filter(pk=outbox_id).first()
        if item is None:
            return "skipped", None  # another worker holds it right now
        if item.done_at is not None:
            return "done", None
        if item.next_attempt_at > now + timedelta(seconds=0.5):
            return "skipped", None  # leased or backing off; its own retry or the sweep will come back
        if item.promotion_id:
            p = lock(item.promotion_id)
            if not states.allowed(states.APPLY, p.state):
                item.done_at, item.outcome = now, "superseded"
                item.save(update_fields=["done_at", "outcome"])
                return "done", None
            # The signatures bind what they signed: re-check it on the current mirror before touching MLflow.
            if unbind_if_changed(p, actor=None, at_apply=True):
                item.done_at, item.outcome = now, "invalidated"
                item.save(update_fields=["done_at", "outcome"])
                return "invalidated", None
            if p.state != S.APPLYING:
                set_state(p, S.APPLYING, actor=None, action="promotion.applying", data={"outbox_id": item.pk})
        item.attempts += 1
        # A claimed item is not picked again (by another worker or the sweep) before the lease ends.
        item.next_attempt_at = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        item.save(update_fields=["attempts", "next_attempt_at"])
        return item


def _talk(item: OutboxItem) -> _Talk:
    """Step 2: set the target in MLflow (unless it already holds the version) and read it back."""
    talk = _Talk()
    try:
        talk.holder_before = _mlflow_holder(item.model_name, item.mlflow_target, item.version)
        if talk.holder_before != item.version:
            _write_mlflow(item.model_name, item.mlflow_target, item.version)
        confirmed = _mlflow_holder(item.model_name, item.mlflow_target, item.version)
        if confirmed != item.version:
            talk.error = f"MLflow shows v{confirmed} after setting v{item.version}; retrying."
    except MlflowUnavailable as exc:
        talk.error = f"MLflow unavailable: {exc}"
    except (MlflowRejected, MlflowNotFound) as exc:
        talk.error, talk.rejected = f"MLflow refused the change: {exc}", True
    return talk


def _record(outbox_id: int, talk: _Talk, *, attempts: int) -> tuple[str, float | None]:
    """Step 3: the outcome, under the row locks again: applied, or a retry with backoff (failed when refused)."""
    with transaction.atomic():
        item = OutboxItem.objects.select_for_update().get(pk=outbox_id)
        p = lock(item.promotion_id) if item.promotion_id else None
        if p is None:
            model_id = (
                RegisteredModel.objects.filter(name=item.model_name).values_list("pk", flat=True).first()
            )
            if model_id is not None:
                pin_mirror_rows(model_id)
        if item.done_at is not None:
            return "done", None
        if talk.error is None:
            _finish(item, p, holder_before=talk.holder_before)
            return "applied", None
        delay = _backoff(attempts)
        item.last_error = talk.error[:4000]
        item.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        item.save(update_fields=["last_error", "next_attempt_at"])
        _record_trouble(item, p, talk, attempts=attempts, delay=delay)
        return ("failed" if talk.rejected else "retry"), delay


def _record_trouble(
    item: OutboxItem, p: Promotion | None, talk: _Talk, *, attempts: int, delay: float
) -> None:
    error = talk.error or ""
    if p is not None and talk.rejected and p.state != S.FAILED:
        set_state(
            p,
            S.FAILED,
            actor=None,
            action="promotion.apply_failed",
            error=error[:4000],
            data={"error": error, "attempts": attempts},
        )
        queue.notify("decided", p.pk)
    elif p is not None and not talk.rejected:
        p.error = error[:4000]
        p.save(update_fields=["error", "updated_at"])
        if attempts == 1 or attempts % 10 == 0:
            audit_event(
                actor=None,
                action="promotion.apply_retrying",
                promotion=p,
                data={"error": error, "attempts": attempts, "retry_in": delay},
            )
    elif item.drift_id:
        audit_event(
            actor=None,
            action="drift.revert_retrying",
            object_type="drift",
            object_id=item.drift_id,
            data={"error": error, "attempts": attempts},
        )


def _finish(item: OutboxItem, p: Promotion | None, *, holder_before: int | None) -> None:
    now = timezone.now()
    item.done_at, item.outcome, item.last_error = now, "applied", ""
    item.save(update_fields=["done_at", "outcome", "last_error"])
    model = RegisteredModel.objects.filter(name=item.model_name).first()
    if model is not None:
        # A drift revert puts back the approved holder: the holding names the promotion that approved it.
        approved_by = p
        if p is None:
            base = baseline(model=model, target=item.target)
            if base is not None and base[0] == item.version:
                approved_by = base[1]
        move_holding(model=model, target=item.target, version=item.version, at=now, promotion=approved_by)
        # Bring the mirror up to date now rather than at the next webhook or reconcile.
        sync.start_sync(kind="webhook", model_name=model.name, requested_by="approvals")
    if p is not None:
        _finish_promotion(item, p, model, holder_before=holder_before, now=now)
    elif item.drift_id:
        DriftRecord.objects.filter(pk=item.drift_id, resolved_at__isnull=True).update(resolved_at=now)
        audit_event(
            actor=None,
            action="drift.reverted",
            object_type="drift",
            object_id=item.drift_id,
            data={"model": item.model_name, "target": item.target, "version": item.version},
        )


def _finish_promotion(
    item: OutboxItem, p: Promotion, model: RegisteredModel | None, *, holder_before: int | None, now: datetime
) -> None:
    fields = {"applied_at": now, "error": ""}
    if holder_before is not None and holder_before != item.version:
        fields["previous_version"] = holder_before
    set_state(
        p,
        S.APPLIED,
        actor=None,
        action="promotion.applied",
        data={"outbox_id": item.pk, "previous_version": holder_before, "attempts": item.attempts},
        **fields,
    )
    if model is not None:
        resolve_drift(
            records=DriftRecord.objects.select_for_update().filter(
                model=model, target=item.target, resolved_at__isnull=True
            ),
            now=now,
            reason=f"promotion #{p.pk} applied v{item.version}",
            version=item.version,
        )
    queue.notify("applied", p.pk)


def sweep_outbox(*, limit: int = 100) -> list[int]:
    """Beat: re-enqueue due outbox items (retries of MLflow-down or refused applies; lost task messages)."""
    ids = pending_outbox(timezone.now(), limit=limit)
    for pk in ids:
        queue.apply_now(pk)
    return ids
