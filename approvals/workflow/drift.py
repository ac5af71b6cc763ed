"""Drift: MLflow's holder of a governed target is not the approved one and nothing in flight explains it.

After every sync the touched models are checked (every governed model on a full or reconcile run): a new holder
is recorded (and, with `on_drift: revert`, put back through the outbox); the approved holder back resolves it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from approvals import states
from approvals.models import DriftRecord, OutboxItem, Promotion, TargetHolding
from approvals.policy import policy_for_decision
from approvals.policy_parse import Target
from approvals.workflow import queue
from approvals.workflow.holdings import record_observed_holders
from approvals.workflow.ledger import baseline, move_holding, resolve_drift
from approvals.workflow.transitions import S, audit_event, audit_holding_event
from mirror import holders
from mirror.models import RegisteredModel, SyncRun

NAMES_PER_CHECK = 500  # models whose governed targets are read in one query (every governed model is checked)


def _governed_targets(names: list[str]) -> set[tuple[str, str]]:
    """(model name, target) pairs this app governs: an applied promotion or a staff adoption."""
    applied = set(
        Promotion.objects.filter(state=S.APPLIED, model__name__in=names)
        .values_list("model__name", "target")
        .distinct()
    )
    adopted = set(
        TargetHolding.objects.filter(adopted_at__isnull=False, model__name__in=names)
        .values_list("model__name", "target")
        .distinct()
    )
    return applied | adopted


def check_drift(*, model_names: Iterable[str], sync_run_id: int | None = None) -> list[DriftRecord]:
    """Compare each target's holder in the mirror with the last applied promotion; record what nothing explains."""
    created: list[DriftRecord] = []
    policy = policy_for_decision()
    names = list(model_names)
    read_at = (
        SyncRun.objects.filter(pk=sync_run_id).values_list("started_at", flat=True).first()
        if sync_run_id is not None
        else None
    )
    for start in range(0, len(names), NAMES_PER_CHECK):
        chunk = names[start : start + NAMES_PER_CHECK]
        # Only targets this app governs can drift; one query instead of a locking check per model × target.
        applied = _governed_targets(chunk)
        for model in RegisteredModel.objects.filter(name__in=chunk):
            for target in policy.targets_for(model.name).values():
                if (model.name, target.name) not in applied:
                    continue
                record = _check_target(model, target, sync_run_id, read_at)
                if record is not None:
                    created.append(record)
    return created


def _check_target(
    model: RegisteredModel, target: Target, sync_run_id: int | None, read_at: datetime | None
) -> DriftRecord | None:
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().filter(pk=model.pk).first()  # serialise checks per model
        model.refresh_from_db()
        base = baseline(model=model, target=target.name)
        if base is None:
            return None  # this app governs nothing there: nothing to compare with
        if read_at is not None and _decided_since(model, target.name, read_at):
            return None
        approved, last = base
        holder = holders.holder(model, target.mlflow())
        now = timezone.now()
        open_records = list(
            DriftRecord.objects.select_for_update().filter(
                model=model, target=target.name, resolved_at__isnull=True
            )
        )
        if holder == approved:
            resolve_drift(
                records=open_records,
                now=now,
                reason="MLflow matches the approved holder again",
                version=holder,
            )
            if open_records:  # the approved version holds the target again
                move_holding(model=model, target=target.name, version=holder, at=now, promotion=last)
            return None
        if _explained(model, target.name, holder, open_records):
            return None
        # It moved again: the earlier record is superseded by this one.
        resolve_drift(
            records=open_records,
            now=now,
            reason=f"superseded: MLflow moved again, to v{holder}",
            version=holder,
        )
        return _record_drift(
            model, target, holder, approved=approved, last=last, now=now, sync_run_id=sync_run_id
        )


def _decided_since(model: RegisteredModel, target: str, read_at: datetime) -> bool:
    """A promotion applied (or a holder adopted) after the sync began reading MLflow: the sync's view predates
    the decision, so it can neither contradict nor confirm it (found by the fault suite: a read just before the
    worker set an alias, checked just after the apply was recorded, showed no holder). The apply's own
    follow-up sync, queued when it was recorded, checks again."""
    return (
        Promotion.objects.filter(model=model, target=target, applied_at__gt=read_at).exists()
        or TargetHolding.objects.filter(model=model, target=target, adopted_at__gt=read_at).exists()
    )


def _explained(
    model: RegisteredModel, target: str, holder: int | None, open_records: list[DriftRecord]
) -> bool:
    """Our own apply seen by the sync before the worker marked it applied, or a drift already recorded."""
    in_flight = Promotion.objects.filter(
        model=model,
        target=target,
        state__in=states.ALLOWED[states.APPLY],  # an apply may still come
        version__version=holder,
    ).exists()
    return in_flight or any(r.mlflow_version == holder for r in open_records)


def _record_drift(
    model: RegisteredModel,
    target: Target,
    holder: int | None,
    *,
    approved: int,
    last: Promotion | None,
    now: datetime,
    sync_run_id: int | None,
) -> DriftRecord:
    """A new drift record, the holding moved to MLflow's holder, and the revert queued when the policy says so."""
    mlflow_target = target.mlflow()
    reverting = OutboxItem.objects.filter(
        model_name=model.name, target=target.name, kind=OutboxItem.Kind.REVERT, done_at__isnull=True
    ).exists()
    record = DriftRecord.objects.create(
        model=model,
        target=target.name,
        mlflow_version=holder,
        approved_version=approved,
        detected_at=now,
        action=target.on_drift,
        sync_run_id=sync_run_id,
    )
    move_holding(model=model, target=target.name, version=holder, at=now, source=TargetHolding.Source.DRIFT)
    audit_holding_event(
        actor=None,
        action="drift.detected",
        model_name=model.name,
        target=target.name,
        mlflow=mlflow_target,
        object_type="drift",
        object_id=record.pk,
        mlflow_version=holder,
        approved_version=approved,
        promotion_id=last.pk if last is not None else None,
        on_drift=target.on_drift,
    )
    if target.on_drift == "revert" and not reverting:
        item = OutboxItem.objects.create(
            kind=OutboxItem.Kind.REVERT,
            drift=record,
            model_name=model.name,
            target=target.name,
            mlflow_target=mlflow_target,
            version=approved,
            next_attempt_at=now,
        )
        audit_event(
            actor=None,
            action="drift.revert_enqueued",
            object_type="drift",
            object_id=record.pk,
            data={"model": model.name, "target": target.name, "version": approved, "outbox_id": item.pk},
        )
        queue.enqueue_apply(item.pk)
    return record


def on_sync(*, sync_run_id: int | None = None, result: object = None, **_: object) -> None:
    """after_sync hook: check drift on the models the sync touched (all models with applied promotions on a
    full, sweep or reconcile run, so a missed webhook is caught within one reconcile), then record observed holders."""
    names = set(getattr(result, "touched_models", None) or ())
    kind = None
    if sync_run_id is not None:
        kind, model_name = SyncRun.objects.filter(pk=sync_run_id).values_list(
            "kind", "model_name"
        ).first() or (
            None,
            "",
        )
        if model_name:
            names.add(model_name)  # a targeted sync: check even when the mirror did not change
        if kind in (SyncRun.Kind.FULL, SyncRun.Kind.RECONCILE, SyncRun.Kind.SWEEP):
            names |= set(
                Promotion.objects.filter(state=S.APPLIED)
                .values_list("model__name", flat=True)
                .distinct()
                .iterator(chunk_size=NAMES_PER_CHECK)
            )
    if names:
        check_drift(model_names=sorted(names), sync_run_id=sync_run_id)
    full = kind in ("full", "reconcile", "sweep")
    record_observed_holders(model_names=None if full else sorted(names), sync_run_id=sync_run_id)
