"""The periodic checkpoint (CELERY_BEAT_SCHEDULE "audit-checkpoint"): thin, idempotent."""

import logging

from celery import shared_task

from audit.verification import ChainBroken, write_checkpoint

log = logging.getLogger(__name__)


@shared_task(
    name="approvals.audit.tasks.write_checkpoint_task",
    acks_late=True,
    time_limit=10 * 60,
    soft_time_limit=9 * 60,
)
def write_checkpoint_task() -> int | None:
    """Sign the chain's head outside the database; the seq signed, or None when the head did not move.
    A chain that does not verify is never signed: the error is logged and verification keeps failing."""
    try:
        checkpoint = write_checkpoint()
    except ChainBroken as exc:
        log.error("audit checkpoint refused: %s", exc)
        return None
    return checkpoint.seq if checkpoint else None
