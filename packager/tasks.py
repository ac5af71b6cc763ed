"""Celery tasks of packaging: thin and idempotent (a job is claimed by a conditional update, so a duplicate
message does nothing). Wire names pinned (tests/architecture/test_task_names.py)."""

from celery import shared_task
from django.conf import settings

from packager import lease, runner


@shared_task(
    name="packager.tasks.run_package_job",
    acks_late=True,
    soft_time_limit=settings.PACKAGE_SOFT_TIME_LIMIT,
    time_limit=settings.PACKAGE_TIME_LIMIT,
)
def run_package_job(job_id: int) -> str:
    return runner.run_job(job_id)


@shared_task(
    name="packager.tasks.sweep_package_jobs", acks_late=True, time_limit=5 * 60, soft_time_limit=4 * 60
)
def sweep_package_jobs() -> dict:
    """Beat: jobs whose worker died go back to the queue (or fail after too many tries); lost messages are sent
    again."""
    return lease.sweep()
