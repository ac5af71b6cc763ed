"""Celery tasks of the promotion workflow: thin and idempotent — take ids, call one service.

The wire names are pinned (`name=...`); the services enqueue these tasks by those names (approvals.workflow.queue).
"""

from celery import shared_task
from django.db import OperationalError

from approvals.evidence_jobs import run_evidence_pack
from approvals.workflow.gating import run_gates, sweep_gates
from approvals.workflow.outbox import apply, sweep_outbox

# A deadlock or serialization failure is PostgreSQL choosing a victim: running the (idempotent) task again is
# the fix.
RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": 1, "retry_backoff_max": 30, "max_retries": 8}
# A workflow step: acknowledged once done (a lost worker's message is delivered again), at most five minutes.
STEP = {"acks_late": True, "time_limit": 5 * 60, "soft_time_limit": 4 * 60}


@shared_task(name="approvals.tasks.run_gates_task", **STEP, **RETRY)
def run_gates_task(promotion_id: int) -> None:
    run_gates(promotion_id=promotion_id)


@shared_task(name="approvals.tasks.apply_outbox_task", **STEP, **RETRY)
def apply_outbox_task(outbox_id: int) -> str:
    """Apply one outbox item; while MLflow is down (or refuses) it re-enqueues itself with backoff.
    The beat sweep (`sweep_outbox_task`) is the safety net for a lost message or a worker restart."""
    outcome, retry_in = apply(outbox_id=outbox_id)
    if retry_in is not None:
        apply_outbox_task.apply_async((outbox_id,), countdown=retry_in)
    return outcome


@shared_task(name="approvals.tasks.sweep_outbox_task", **STEP)
def sweep_outbox_task() -> int:
    return len(sweep_outbox())


@shared_task(name="approvals.tasks.sweep_gates_task", **STEP)
def sweep_gates_task() -> int:
    return len(sweep_gates())


@shared_task(
    name="approvals.tasks.build_evidence_pack_task",
    acks_late=True,
    time_limit=60 * 60,
    soft_time_limit=55 * 60,
)
def build_evidence_pack_task(job_id: int) -> None:
    run_evidence_pack(job_id=job_id)
