"""What the workflow starts after its transaction commits: Celery tasks and the workflow's e-mails.

The tasks (`approvals.tasks`) import the services they run, so the services reach the task objects through the
Celery app's registry by their pinned wire names instead of importing that module back; the objects are the
very ones `approvals.tasks` defines (eager mode and tests patching `.delay` behave the same).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

from approvals import notifications
from common.queue import send, send_on_commit

log = logging.getLogger(__name__)

RUN_GATES_TASK = "approvals.tasks.run_gates_task"
APPLY_OUTBOX_TASK = "approvals.tasks.apply_outbox_task"
BUILD_EVIDENCE_PACK_TASK = "approvals.tasks.build_evidence_pack_task"


def enqueue_gates(promotion_id: int, *, countdown: float | None = None) -> None:
    """Run the promotion's gates once the current transaction commits (after `countdown` seconds if given).
    A broker that cannot take it loses nothing: the promotion stays `checking` and the gate sweep sends it."""
    send_on_commit(RUN_GATES_TASK, promotion_id, countdown=countdown)


def enqueue_apply(outbox_id: int, *, countdown: float | None = None) -> None:
    """Apply the outbox item once the current transaction commits (after `countdown` seconds if given).
    A broker that cannot take it loses nothing: the item stays due and the outbox sweep sends it."""
    send_on_commit(APPLY_OUTBOX_TASK, outbox_id, countdown=countdown)


def send_gates(promotion_id: int) -> None:
    """Enqueue the promotion's gate run right away (the sweep runs outside any decision's transaction)."""
    send(RUN_GATES_TASK, promotion_id)


def apply_now(outbox_id: int) -> None:
    """Enqueue the outbox item's apply right away (the sweep runs outside any decision's transaction)."""
    send(APPLY_OUTBOX_TASK, outbox_id)


NOTIFICATIONS: dict[str, Callable[[int], int]] = {
    "awaiting_approval": notifications.awaiting_approval,
    "decided": notifications.decided,
    "applied": notifications.applied,
}


def notify(kind: str, promotion_id: int) -> None:
    """Send the `kind` e-mail of the promotion after the current transaction commits."""
    fn = NOTIFICATIONS[kind]
    transaction.on_commit(lambda: _safe(fn, promotion_id))


def _safe(fn: Callable[[int], int], *args: int) -> None:
    try:
        fn(*args)
    except Exception:  # mail trouble must never undo or fail a decision already committed
        log.exception("notification %s failed", fn)
