"""Running a promotion's gates: checking → awaiting_approval (or approved at once with no signature required),
or blocked when one fails; a gate whose data has not arrived waits, bounded by GATE_DATA_WAIT_SECONDS."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.utils import timezone

from approvals import states
from approvals.eligibility import may_recheck
from approvals.gates import GateSpec
from approvals.models import GateResult, OutboxItem, Promotion
from approvals.policy import policy_for_decision
from approvals.selectors import lost_gate_runs
from approvals.workflow import queue
from approvals.workflow.evaluation import evaluate, gate_input, stored_specs
from approvals.workflow.quorum import approve_count, mark_approved
from approvals.workflow.transitions import S, audit_event, lock, set_state
from common.errors import Conflict, MlflowNotFound, MlflowRejected, MlflowUnavailable, NotAllowed, NotFound
from mirror import services as mirror_services

log = logging.getLogger(__name__)

_DATA_WAIT_HINTS = {
    "signature_present": "MLflow may be unreachable or the artifacts unreadable. The gate fails rather than pass "
    "on trust; re-check once the version page shows its content hash.",
    "model_card_complete": "the card-drafting worker may be down or behind. The gate fails rather than pass on "
    "trust; open the version's model card (that drafts it), complete it and re-check.",
    "package_valid": "the packaging job may still be running, or its worker is down or behind. The gate fails "
    "rather than pass on trust; re-check once the version page shows the package succeeded.",
    "training_data_not_flagged": "no lineage source answered (the lineage app may be missing or failing). The "
    "gate fails rather than pass on trust; re-check once the version's lineage page shows its data.",
}


def _read_missing_artifacts(promotion_id: int) -> None:
    """A gate run does not wait for the batch read when it can read the version's artifacts itself (through the
    gateway, outside any transaction). MLflow trouble is not fatal here: the gates then wait for the data."""
    row = (
        Promotion.objects.filter(pk=promotion_id, state=S.CHECKING, version__artifacts_read_at__isnull=True)
        .values_list("version_id", flat=True)
        .first()
    )
    if row is None:
        return
    try:
        mirror_services.read_version_artifacts(model_version_id=row)
    except (MlflowUnavailable, MlflowNotFound, MlflowRejected) as exc:
        log.info("promotion %s: the version's artifacts could not be read yet: %s", promotion_id, exc)


def _data_wait(p: Promotion, rows: list[GateResult], now: datetime) -> float | None:
    """Seconds still to wait for gates whose data has not arrived, or None when the run decides now: no gate is
    pending, another gate already failed, or the bounded wait is over (then the pending gates fail, saying why)."""
    pending = [r for r in rows if r.status == "pending"]
    if not pending or any(r.status not in ("passed", "skipped", "pending") for r in rows):
        return None
    limit = float(settings.GATE_DATA_WAIT_SECONDS)
    since = p.checking_since or p.requested_at
    left = limit - (now - since).total_seconds()
    if left > 0:
        for r in pending:
            r.detail = (
                f"{r.detail} Waiting since {since:%H:%M:%S} UTC; "
                f"the gate fails if the data has not arrived after {limit:.0f} s."
            )
        return left
    for r in pending:
        r.status = "failed"
        r.detail = (
            f"{r.detail} It still had not arrived {limit:.0f} s after the gates started (since {since:%H:%M:%S} "
            f"UTC): {_DATA_WAIT_HINTS.get(r.name, _DATA_WAIT_HINTS['signature_present'])}"
        )
    return None


def on_artifacts_read(*, version_ids: Iterable[int], **_: object) -> None:
    """after_artifacts_read, after_card_drafted and after_package_finished hook: the data a pending gate waited
    for arrived, so promotions of these versions still waiting in `checking` run their gates again."""
    waiting = Promotion.objects.filter(version_id__in=list(version_ids), state=S.CHECKING)
    for pk in waiting.values_list("pk", flat=True).iterator(chunk_size=500):
        queue.enqueue_gates(pk)


def sweep_gates(*, limit: int = 100) -> list[int]:
    """Beat: run again the gates of promotions whose run was lost (a worker killed in it, a message lost with
    Redis), found GATE_SWEEP_SECONDS late. A run that was merely slow and runs twice does nothing the second
    time: the first one moved the promotion out of `checking` under its row lock."""
    ids = lost_gate_runs(
        timezone.now(),
        quiet_seconds=settings.GATE_SWEEP_SECONDS,
        wait_seconds=settings.GATE_DATA_WAIT_SECONDS,
        limit=limit,
    )
    for pk in ids:
        queue.send_gates(pk)
    return ids


def _specs(p: Promotion) -> list[GateSpec]:
    """The target's gates in the policy now; the recorded ones when the policy no longer has the target."""
    spec = policy_for_decision().target(p.model.name, p.target)
    return list(spec.gates) if spec else stored_specs(p)


def run_gates(*, promotion_id: int) -> Promotion | None:
    """Evaluate the target's gates on the mirror; checking → awaiting_approval, or blocked when one fails.
    A gate whose input has not arrived yet is `pending`: the promotion stays `checking` (bounded by
    GATE_DATA_WAIT_SECONDS) and runs again when the version's artifacts are read, or at the end of the wait."""
    _read_missing_artifacts(promotion_id)
    with transaction.atomic():
        try:
            p = lock(promotion_id)
        except NotFound:
            return None
        if not states.allowed(states.RUN_GATES, p.state):
            return p
        specs = _specs(p)
        inp = gate_input(p, specs)
        now = timezone.now()
        rows = evaluate(p, specs, inp, now)
        if _store(p, specs, rows, holder_version=inp.holder_version, now=now):
            return p  # waiting for data
        _decide(p, rows)
    return p


def _store(
    p: Promotion, specs: list[GateSpec], rows: list[GateResult], *, holder_version: int | None, now: datetime
) -> bool:
    """Replace the promotion's gate rows with `rows` and audit them; True when the run waits for data (the
    first wait of this round schedules the run again at its end)."""
    # Already waiting in this round of checks (rows are created `pending` before any evaluation)?
    waiting_before = GateResult.objects.filter(
        promotion=p, status="pending", evaluated_at__gte=p.checking_since or p.requested_at
    ).exists()
    GateResult.objects.filter(promotion=p).delete()
    wait = _data_wait(p, rows, now)
    GateResult.objects.bulk_create(rows)
    p.gate_specs = [g.as_dict() for g in specs]
    p.save(update_fields=["gate_specs", "updated_at"])
    results = [{"name": r.name, "status": r.status, "observed": r.observed, "detail": r.detail} for r in rows]
    audit_event(
        actor=None,
        action="promotion.gates_evaluated",
        promotion=p,
        data={"gates": results, "holder_version": holder_version},
    )
    if wait is None:
        return False
    if not waiting_before:  # the first wait: come back at its end, whatever happens meanwhile
        audit_event(
            actor=None,
            action="promotion.gates_waiting",
            promotion=p,
            data={"pending": [r.name for r in rows if r.status == "pending"], "wait_seconds": wait},
        )
        queue.enqueue_gates(p.pk, countdown=wait + 1)
    return True


def _decide(p: Promotion, rows: list[GateResult]) -> None:
    """Every gate passed: awaiting approval (approved at once when no signature is required); else blocked."""
    if all(r.status in ("passed", "skipped") for r in rows):
        set_state(p, S.AWAITING_APPROVAL, actor=None, action="promotion.awaiting_approval")
        if approve_count(p) >= p.required_approvals:
            mark_approved(p, actor=None)
        else:
            queue.notify("awaiting_approval", p.pk)
    else:
        failed = [r.name for r in rows if r.status not in ("passed", "skipped")]
        set_state(p, S.BLOCKED, actor=None, action="promotion.blocked", data={"failed_gates": failed})
        queue.notify("decided", p.pk)


def recheck(*, promotion_id: int, user: AbstractUser) -> Promotion:
    """Run the gates again (blocked or awaiting approval), or retry a failed apply now."""
    with transaction.atomic():
        p = lock(promotion_id)
        if not may_recheck(p, user):
            raise NotAllowed("Only the requester, ml-engineers, reviewers or staff may re-run the gates.")
        action = states.recheck_action(p.state)
        if action == states.RERUN_GATES:
            set_state(
                p, S.CHECKING, actor=user, action="promotion.recheck_requested", checking_since=timezone.now()
            )
            queue.enqueue_gates(p.pk)
        elif action == states.RETRY_APPLY:
            item = OutboxItem.objects.filter(
                promotion=p, kind=OutboxItem.Kind.APPLY, done_at__isnull=True
            ).first()
            if item is None:
                raise Conflict("Nothing to retry.")
            item.next_attempt_at = timezone.now()
            item.save(update_fields=["next_attempt_at"])
            audit_event(actor=user, action="promotion.apply_retry_requested", promotion=p)
            queue.enqueue_apply(item.pk)
        else:
            raise Conflict(
                f"The promotion is {p.state}; only blocked, awaiting or failed ones can be re-checked."
            )
    return p
