"""Cancelling a promotion: the requester or staff end it before it is applied; its pending apply is dropped."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.utils import timezone

from approvals import states
from approvals.eligibility import may_cancel
from approvals.models import OutboxItem, Promotion
from approvals.workflow import queue
from approvals.workflow.transitions import S, lock, set_state
from common.errors import Conflict, NotAllowed

MAX_REASON = 2000  # characters of the reason kept


def cancel(*, promotion_id: int, user: AbstractUser, reason: str = "") -> Promotion:
    """Cancel the promotion (requester or staff) while it is not yet applied, rejected or cancelled."""
    with transaction.atomic():
        p = lock(promotion_id)
        if not may_cancel(p, user):
            raise NotAllowed("Only the requester or staff may cancel a promotion.")
        if not states.allowed(states.CANCEL, p.state):
            raise Conflict(f"The promotion is {p.state.replace('_', ' ')}; it can no longer be cancelled.")
        now = timezone.now()
        OutboxItem.objects.filter(promotion=p, done_at__isnull=True).update(done_at=now, outcome="cancelled")
        set_state(
            p,
            S.CANCELLED,
            actor=user,
            action="promotion.cancelled",
            decided_at=now,
            data={"reason": (reason or "")[:MAX_REASON]},
        )
        queue.notify("decided", p.pk)
    return p
