"""Enqueue background work by its task name. A service that queues a Celery task must not import the task
module when that module imports the service (the task calls it: a cycle). So each app registers its tasks
here in its AppConfig.ready(), and the services ask for them by their pinned wire names."""

from __future__ import annotations

from typing import Any

_tasks: dict[str, Any] = {}


def register(*tasks: Any) -> None:
    """Register Celery tasks under their `name` (the explicit wire name given to `shared_task`)."""
    for task in tasks:
        _tasks[task.name] = task


def task(name: str) -> Any:
    """The registered task called `name` (KeyError when its app did not register it)."""
    return _tasks[name]
