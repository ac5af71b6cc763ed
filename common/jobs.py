"""Background jobs that write one file (a bulk card export, an evidence pack): a row with state and progress
that a page polls, a Celery task enqueued when the row commits, and one runner that builds the file beside its
final name and moves it there only when complete.

A job row is a `FileJob` (abstract: each kind keeps its own table) plus what the job is about."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from common import queue

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


class FileJob(models.Model):
    """The row of a job that writes one file: who asked, in which formats, its state and progress."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    formats = models.JSONField(default=list)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    file_path = models.CharField(max_length=500, blank=True, default="")
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-id"]

    @property
    def progress(self) -> int:
        if self.state == self.State.SUCCEEDED:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.SUCCEEDED, self.State.FAILED)


def media_dir(name: str) -> Path:
    """MEDIA_ROOT/<name>, created when missing: where a kind of job keeps its files."""
    path = Path(settings.MEDIA_ROOT) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def request(model: type[models.Model], task_name: str, **fields: Any) -> Any:
    """Create the job row and enqueue its task (by its pinned name) when the transaction commits."""
    with transaction.atomic():
        job = model.objects.create(**fields)
        rows = model.objects.filter(pk=job.pk, state=FileJob.State.QUEUED)
        queue.send_on_commit(task_name, job.pk, refused=queue.mark_refused(rows, state=FileJob.State.FAILED))
    return job


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run(
    model: type[models.Model],
    job_id: int,
    *,
    path: Callable[[Any], Path],
    plan: Callable[[Any], Sequence[Any]],
    steps: Callable[[Sequence[Any]], int] = len,
    write: Callable[[Any, Sequence[Any], BinaryIO, Progress], None],
    finish: Callable[[Any, Path, int], dict[str, Any]] | None = None,
    related: Sequence[str] = (),
    what: str = "job",
) -> None:
    """A job task's body. Idempotent: a missing or finished job is left alone; a rerun rebuilds the file.

    `plan(job)` lists the work, `steps(work)` counts the progress steps, `write(job, work, out, progress)`
    writes the file, `finish(job, written file, steps)` gives extra fields for the succeeded row. Any failure
    (planning included) marks the row failed with the error and removes the partial file."""
    job = model.objects.filter(pk=job_id).select_related(*related).first()
    if job is None or job.is_finished:
        return
    rows = model.objects.filter(pk=job.pk)
    final = path(job)
    tmp = final.with_suffix(".part")
    try:
        work = plan(job)
        total = steps(work)
        rows.update(state=model.State.RUNNING, started_at=timezone.now(), total=total, done=0)
        with tmp.open("wb") as out:
            write(job, work, out, lambda n: rows.update(done=n))
        extra = finish(job, tmp, total) if finish else {}
        tmp.replace(final)
    except Exception as exc:
        log.exception("%s %s failed", what, job.pk)
        tmp.unlink(missing_ok=True)
        rows.update(
            state=model.State.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        return
    rows.update(
        state=model.State.SUCCEEDED,
        file_path=str(final),
        size_bytes=final.stat().st_size,
        finished_at=timezone.now(),
        **extra,
    )
