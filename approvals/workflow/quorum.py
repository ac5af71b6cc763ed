"""The quorum: counting signatures, checking at the last one (and again at the apply) that what they signed
still holds, then approved with its outbox row in the same transaction."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from approvals.models import Approval, GateResult, OutboxItem, Promotion
from approvals.workflow import queue
from approvals.workflow.evaluation import fresh_gate_rows
from approvals.workflow.hashes import BOUND_NAMES, binding, gates_hash
from approvals.workflow.transitions import Actor, S, audit_event, set_state
from common.errors import Conflict

PASSING = ("passed", "skipped")


def live_approvals(p: Promotion) -> QuerySet[Approval]:
    """The approving signatures that count: superseded ones stay as records but count no more."""
    return Approval.objects.filter(
        promotion=p, decision=Approval.Decision.APPROVE, superseded_at__isnull=True
    )


def approve_count(p: Promotion) -> int:
    """How many approving signatures count now."""
    return live_approvals(p).count()


def _gates_all_passed(p: Promotion) -> bool:
    statuses = list(GateResult.objects.filter(promotion=p).values_list("status", flat=True))
    return all(s in PASSING for s in statuses)


def _why_superseded(
    failed: list[GateResult], stale: list[Approval], changed: dict[int, list[str]], when: str
) -> str:
    if failed:
        return (
            f"{'Gates' if len(failed) > 1 else 'Gate'} {', '.join(r.name for r in failed)} failed on the current "
            f"mirror {when} ({' '.join(r.detail for r in failed)}). The signatures given so far no longer "
            "count: fix it, re-run the gates and sign again."
        )
    what = [BOUND_NAMES[k] for k in BOUND_NAMES if any(k in changed[a.pk] for a in stale)]
    return (
        f"The {' and '.join(what)} changed after {'it was' if len(stale) == 1 else 'they were'} signed "
        f"(seen {when}): {', '.join(a.reviewer.get_username() for a in stale)} must sign again."
    )


def unbind_if_changed(p: Promotion, *, actor: Actor, at_apply: bool) -> str | None:
    """At the last signature and again in the outbox apply (the promotion row locked): evaluate the gates on
    the current mirror and compare what each counting signature signed with the current hashes. When a gate
    fails, or the signatures that still match fall short of the quorum, the signatures that no longer hold are
    superseded (kept as records, no longer counted), the promotion goes back to `blocked` or
    `awaiting_approval`, and the reason is returned. None: the signatures hold; go on."""
    rows = fresh_gate_rows(p, at_apply=at_apply)
    current, _card = binding(p, rows)
    failed = [r for r in rows if r.status not in PASSING]
    live = list(live_approvals(p).select_related("reviewer"))
    changed = {a.pk: [k for k, v in current.items() if (a.signed_hashes or {}).get(k) != v] for a in live}
    stale = [a for a in live if changed[a.pk]]
    if not failed and not stale:
        return None
    superseded = live if failed else stale
    reason = _why_superseded(failed, stale, changed, "at the apply" if at_apply else "at the last signature")
    if gates_hash(p) != current["gates_hash"]:
        GateResult.objects.filter(promotion=p).delete()
        GateResult.objects.bulk_create(rows)
    Approval.objects.filter(pk__in=[a.pk for a in superseded]).update(
        superseded_at=timezone.now(), superseded_reason=reason[:4000]
    )
    audit_event(
        actor=actor,
        action="promotion.signatures_superseded",
        promotion=p,
        data={
            "reason": reason,
            "at": "apply" if at_apply else "signature",
            "failed_gates": [r.name for r in failed],
            "superseded": {a.reviewer.get_username(): changed[a.pk] for a in superseded},
            "current": current,
        },
    )
    if not failed and approve_count(p) >= p.required_approvals:
        return None  # enough signatures still hold what is there now
    _step_back(p, actor=actor, failed=failed, reason=reason)
    return reason


def _step_back(p: Promotion, *, actor: Actor, failed: list[GateResult], reason: str) -> None:
    """Signatures no longer hold: blocked when a gate failed, else back to awaiting approval."""
    if failed:
        set_state(
            p,
            S.BLOCKED,
            actor=actor,
            action="promotion.blocked",
            data={"failed_gates": [r.name for r in failed], "reason": reason},
        )
        queue.notify("decided", p.pk)
        return
    if p.state != S.AWAITING_APPROVAL:
        set_state(
            p,
            S.AWAITING_APPROVAL,
            actor=actor,
            action="promotion.awaiting_approval",
            data={"reason": reason},
        )
    queue.notify("awaiting_approval", p.pk)


def mark_approved(p: Promotion, *, actor: Actor) -> bool:
    """Quorum reached: the signatures are checked against the current mirror, then approved + the outbox row,
    in the caller's transaction (the promotion row is locked). False when the signatures no longer hold."""
    if unbind_if_changed(p, actor=actor, at_apply=False):
        return False
    if not _gates_all_passed(p):  # defence in depth: awaiting_approval already implies it
        raise Conflict("A gate has not passed; the promotion cannot be approved.")
    now = timezone.now()
    set_state(p, S.APPROVED, actor=actor, action="promotion.approved", decided_at=now)
    item = OutboxItem.objects.create(
        kind=OutboxItem.Kind.APPLY,
        promotion=p,
        model_name=p.model.name,
        target=p.target,
        mlflow_target=p.mlflow_target,
        version=p.version.version,
        next_attempt_at=now,
    )
    audit_event(actor=actor, action="outbox.enqueued", promotion=p, data={"outbox_id": item.pk})
    queue.enqueue_apply(item.pk)
    queue.notify("decided", p.pk)
    return True
