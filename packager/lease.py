"""A job's life in the database, each step one conditional UPDATE so that two workers never both run a job and
a job finishes exactly once:

- `claim`: queued → running, with this worker's id and a lease (only one UPDATE can match `state = queued`);
- `heartbeat`: extend the lease and write progress, only while this worker still holds it;
- `finish`: running → succeeded or failed, only while this worker still holds it (a worker that lost its lease
  to another one finishes nothing);
- `sweep` (beat): a running job whose lease expired (its worker was killed) goes back to queued for another
  worker — or fails once it used up PACKAGE_MAX_ATTEMPTS — and a queued job whose message was lost is sent
  again. Each state change is audited in the same transaction."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from common import queue
from mirror import hooks
from packager import services
from packager.models import PackageJob, empty_steps

S = PackageJob.State
SWEEP_BATCH = 100


class LeaseLost(Exception):
    """This worker no longer holds the job (its lease expired and another worker took it over)."""


def worker_id() -> str:
    """Unique per task run: host, process, and a random part (a threads pool runs several jobs per process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.PACKAGE_LEASE_SECONDS)


def _held(job_id: int, worker: str):
    return PackageJob.objects.filter(pk=job_id, state=S.RUNNING, worker=worker)


def claim(job_id: int, worker: str) -> PackageJob | None:
    """Take a queued job for this worker (None: missing, finished, or someone else's)."""
    now = timezone.now()
    with transaction.atomic():
        taken = PackageJob.objects.filter(pk=job_id, state=S.QUEUED).update(
            state=S.RUNNING, worker=worker, lease_expires_at=_lease_end(now), heartbeat_at=now, started_at=now,
            attempts=F("attempts") + 1, steps=empty_steps(), step="", percent=0, error="",
        )  # fmt: skip
        if not taken:
            return None
        job = PackageJob.objects.select_related("version__model", "requested_by").get(pk=job_id)
        services.audit(job, "package.started", worker=worker, attempt=job.attempts)
    return job


def heartbeat(job_id: int, worker: str, **progress) -> None:
    """Extend this worker's lease (and write progress fields); LeaseLost when it no longer holds the job."""
    now = timezone.now()
    if not _held(job_id, worker).update(heartbeat_at=now, lease_expires_at=_lease_end(now), **progress):
        raise LeaseLost(f"package job {job_id} is no longer held by {worker}")


def finish(job: PackageJob, worker: str, *, state: str, **fields) -> bool:
    """End the job once: succeeded (its results in `fields`) or failed (`error`, a sentence). False when this
    worker lost the job meanwhile (nothing written)."""
    now = timezone.now()
    with transaction.atomic():
        done = _held(job.pk, worker).update(
            state=state, finished_at=now, worker="", lease_expires_at=None, heartbeat_at=now, **fields
        )
        if not done:
            return False
        if state == S.SUCCEEDED:
            services.audit(job, "package.succeeded", worker=worker, sha256=fields.get("sha256", ""),
                           size_bytes=fields.get("size_bytes"), artifact_uri=fields.get("artifact_uri", ""),
                           parity=fields.get("parity"))  # fmt: skip
            services.after_success(job, sha256=fields.get("sha256", ""))
        else:
            services.audit(job, "package.failed", worker=worker, error=fields.get("error", ""))
        # What waits for the package (the gate package_valid of a promotion in `checking`) runs again.
        version_id = job.version_id
        transaction.on_commit(lambda: hooks.run_after_package_finished(version_ids=[version_id]))
    return True


def _give_back(job: PackageJob, now: datetime) -> str | None:
    """An expired running job: back to queued (another worker takes it over), or failed after too many tries."""
    expired = PackageJob.objects.filter(
        pk=job.pk, state=S.RUNNING, worker=job.worker, lease_expires_at__lt=now
    )
    with transaction.atomic():
        if job.attempts >= settings.PACKAGE_MAX_ATTEMPTS:
            error = (
                f"The packaging worker stopped {job.attempts} times before finishing (killed, or out of memory);"
                " the job was given up. Ask again to retry."
            )
            if not expired.update(
                state=S.FAILED, error=error, finished_at=now, worker="", lease_expires_at=None
            ):
                return None
            services.audit(job, "package.failed", error=error, lost_worker=job.worker)
            version_id = job.version_id
            transaction.on_commit(lambda: hooks.run_after_package_finished(version_ids=[version_id]))
            return "failed"
        if not expired.update(state=S.QUEUED, worker="", lease_expires_at=None, queued_at=now):
            return None
        services.audit(job, "package.requeued", lost_worker=job.worker, attempts=job.attempts)
        queue.send_on_commit(services.RUN_TASK, job.pk)
        return "requeued"


def sweep(now: datetime | None = None) -> dict[str, list[int]]:
    """Beat: give back the jobs whose lease expired, and send again the queued jobs nobody claimed for a
    while (a lost message; a duplicate is harmless: only one claim can succeed)."""
    now = now or timezone.now()
    outcome: dict[str, list[int]] = {"requeued": [], "failed": [], "resent": []}
    expired = (
        PackageJob.objects.filter(state=S.RUNNING, lease_expires_at__lt=now)
        .select_related("version__model")
        .order_by("lease_expires_at")[:SWEEP_BATCH]
    )
    for job in expired:
        result = _give_back(job, now)
        if result:
            outcome[result].append(job.pk)
    stale = now - timedelta(seconds=5 * settings.PACKAGE_LEASE_SECONDS)
    for pk in PackageJob.objects.filter(state=S.QUEUED, queued_at__lt=stale).values_list("pk", flat=True)[
        :SWEEP_BATCH
    ]:
        if PackageJob.objects.filter(pk=pk, state=S.QUEUED, queued_at__lt=stale).update(queued_at=now):
            queue.send(services.RUN_TASK, pk)
            outcome["resent"].append(pk)
    return outcome
