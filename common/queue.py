"""Enqueue background work by its task name. A service that queues a Celery task must not import the task
module when that module imports the service (the task calls it: a cycle). So each app imports its tasks module
in its AppConfig.ready() (which registers the tasks with the Celery app in every process), and the services
ask the Celery app's registry for them by their pinned wire names: the very objects the tasks module defines,
so eager mode and tests patching `.delay` behave the same."""

from __future__ import annotations

from typing import Any

from celery import current_app


def task(name: str) -> Any:
    """The registered Celery task called `name` (its explicit `shared_task(name=...)`)."""
    return current_app.tasks[name]
