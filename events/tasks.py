"""Celery tasks of the outbound events: thin and idempotent — take ids, call one service.

The wire names are pinned (`name=...`); the outbox enqueues `deliver_task` by that name (common.queue).
"""

from celery import shared_task
from django.db import OperationalError

from events.outbox import sweep
from events.sending import deliver

# A deadlock or serialization failure is PostgreSQL choosing a victim: running the (idempotent) task again is
# the fix. Sending itself never raises: a receiver's failure is a retry the delivery row schedules.
RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": 1, "retry_backoff_max": 30, "max_retries": 8}
STEP = {"acks_late": True, "time_limit": 2 * 60, "soft_time_limit": 90}


@shared_task(name="events.tasks.deliver_task", **STEP, **RETRY)
def deliver_task(delivery_pk: int) -> str:
    """Send one delivery; after a failure it re-enqueues itself for when the backoff ends. The beat sweep
    (`sweep_deliveries_task`) is the safety net for a lost message or a worker restart."""
    outcome, retry_in = deliver(delivery_pk=delivery_pk)
    if retry_in is not None:
        deliver_task.apply_async((delivery_pk,), countdown=retry_in)
    return outcome


@shared_task(name="events.tasks.sweep_deliveries_task", **STEP)
def sweep_deliveries_task() -> int:
    return len(sweep())
