"""Enqueue background work by its task name. A service that queues a Celery task must not import the task
module when that module imports the service (the task calls it: a cycle). So each app imports its tasks module
in its AppConfig.ready() (which registers the tasks with the Celery app in every process), and the services
ask the Celery app's registry for them by their pinned wire names: the very objects the tasks module defines,
so eager mode and tests patching `.delay` behave the same.

`send` and `send_on_commit` are for work that is already a row a beat sweep finds again (a promotion whose gates
have not run, an outbox item): a broker that cannot take the message (Redis down or restarting) is logged, not
raised, so a decision committed a moment before is not answered with a server error the client would retry.
Work that no sweep finds again (a sync run, a file job) passes `refused`: it marks its row failed, saying why,
so nothing waits forever on a message that was never sent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

log = logging.getLogger(__name__)


def task(name: str) -> Any:
    """The registered Celery task called `name` (its explicit `shared_task(name=...)`)."""
    return current_app.tasks[name]


def send(name: str, *args: Any, countdown: float | None = None) -> bool:
    """Send the task `name` now (after `countdown` seconds if given); False, logged, when the broker cannot
    take it: the row it works on stays due and the beat sweep sends it again."""
    t = task(name)
    try:
        if countdown:
            t.apply_async(args, countdown=countdown)
        else:
            t.delay(*args)
    except BrokerUnavailable:
        log.warning("Could not queue %s%r; the beat sweep will send it again", name, args, exc_info=True)
        return False
    return True


def send_on_commit(
    name: str, *args: Any, countdown: float | None = None, refused: Callable[[], None] | None = None
) -> None:
    """`send` once the current transaction commits (nothing is sent if it rolls back); `refused()` runs when
    the broker could not take the message."""

    def after_commit() -> None:
        if not send(name, *args, countdown=countdown) and refused is not None:
            refused()

    transaction.on_commit(after_commit)


QUEUE_DOWN = (
    "The task queue (Redis) could not take this work; nothing was started. Ask again once it is back."
)


def mark_refused(rows: QuerySet, **fields: Any) -> Callable[[], None]:
    """A `refused` callback for a row still queued (`rows`): it becomes finished with QUEUE_DOWN as its error
    and `fields` (its failed state)."""
    return lambda: rows.update(finished_at=timezone.now(), error=QUEUE_DOWN, **fields) and None
