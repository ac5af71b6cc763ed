"""The body of a packaging job, run by a worker (packager.tasks): claim the job, download the version's model
directory from MLflow, build the package (packager.formats: load, convert, validate parity, in a sandboxed
child process), log it as an artifact of the source run under `packages/<format>/`, hash it, and finish the
job exactly once. Any error ends the job `failed` with a sentence for a user: never a crashed worker, never a
job left `running` (a killed worker's lease expires and the beat sweep gives the job to another worker)."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from common.errors import ArtifactTooLarge, MlflowNotFound, MlflowRejected, MlflowUnavailable
from common.jobs import file_sha256
from mirror import gateway
from packager import formats, lease, tolerance
from packager.bundle import single_file
from packager.models import STEP_START_PERCENT, PackageJob

log = logging.getLogger(__name__)
S = PackageJob.State


class Progress:
    """The job's steps as the worker goes through them, written with each heartbeat of the lease."""

    def __init__(self, job: PackageJob, worker: str):
        self.job_id, self.worker = job.pk, worker
        self.steps = [dict(step) for step in job.steps]
        self.current = ""

    def start(self, name: str) -> None:
        if name not in STEP_START_PERCENT or name == self.current:
            return
        now = timezone.now().isoformat()
        for step in self.steps:
            if step["name"] == self.current and not step["finished_at"]:
                step["finished_at"] = now
            if step["name"] == name:
                step["started_at"], step["finished_at"] = now, None
        self.current = name
        lease.heartbeat(
            self.job_id, self.worker, steps=self.steps, step=name, percent=STEP_START_PERCENT[name]
        )

    def fields(self, *, done: bool) -> dict:
        if done:
            now = timezone.now().isoformat()
            for step in self.steps:
                if step["name"] == self.current and not step["finished_at"]:
                    step["finished_at"] = now
        return {"steps": self.steps, "step": self.current, **({"percent": 100} if done else {})}


class Heartbeat(threading.Thread):
    """Extends the lease every third of it while the job works (a conversion may run for minutes without a
    progress step); stops extending at the job's hard time limit, so a stuck job's lease runs out."""

    def __init__(self, job_id: int, worker: str):
        super().__init__(name=f"package-{job_id}-heartbeat", daemon=True)
        self.job_id, self.worker = job_id, worker
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        deadline = time.monotonic() + settings.PACKAGE_TIME_LIMIT
        interval = max(0.2, settings.PACKAGE_LEASE_SECONDS / 3)
        try:
            while not self.stopped.wait(interval) and time.monotonic() < deadline:
                try:
                    lease.heartbeat(self.job_id, self.worker)
                except lease.LeaseLost:
                    self.lost = True
                    return
                except Exception:  # a database blip: the next beat tries again, the lease has slack
                    log.warning("package job %s: heartbeat failed", self.job_id, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


def _sentence(exc: BaseException) -> str:
    """What a user reads when the job fails."""
    if isinstance(exc, formats.PackagingFailed | formats.UnsupportedFormat):
        return str(exc)
    if isinstance(exc, ArtifactTooLarge):
        return f"{exc} Raise the limit or package a smaller model."
    if isinstance(exc, SoftTimeLimitExceeded):
        return f"Packaging took longer than the limit of {settings.PACKAGE_SOFT_TIME_LIMIT} seconds."
    if isinstance(exc, MlflowNotFound):
        return f"MLflow no longer has what this package needs: {exc}"
    if isinstance(exc, MlflowUnavailable):
        return "MLflow could not be reached while packaging; ask again once it is back."
    if isinstance(exc, MlflowRejected):
        return f"MLflow refused a request while packaging: {exc}"
    return f"Packaging failed unexpectedly ({type(exc).__name__}); the worker's log has the details."


def run_job(job_id: int, *, build: Callable | None = None) -> str:
    """Run one job to its end; returns what happened: succeeded, failed, lost (another worker holds it now) or
    skipped (not queued: finished, running elsewhere, or missing). `build` replaces packager.formats.build."""
    worker = lease.worker_id()
    job = lease.claim(job_id, worker)
    if job is None:
        return "skipped"
    beat = Heartbeat(job.pk, worker)
    beat.start()
    progress = Progress(job, worker)
    try:
        with tempfile.TemporaryDirectory(prefix=f"package-{job.pk}-") as tmp:
            results = _work(job, progress, Path(tmp), build or formats.build)
        ended = lease.finish(job, worker, state=S.SUCCEEDED, **results, **progress.fields(done=True))
    except lease.LeaseLost:
        return "lost"
    except Exception as exc:  # every failure ends the job with a sentence; none crashes the worker
        log.warning("package job %s failed", job.pk, exc_info=True)
        parity = exc.parity if isinstance(exc, formats.ParityFailed) else None
        ended = lease.finish(
            job, worker, state=S.FAILED, error=_sentence(exc)[:2000],
            parity=parity.as_dict() if parity is not None else None, **progress.fields(done=False),
        )  # fmt: skip
        return "failed" if ended else "lost"
    finally:
        beat.stop()
    return "succeeded" if ended else "lost"


def _work(job: PackageJob, progress: Progress, tmp: Path, build: Callable) -> dict:
    """The steps; returns the succeeded job's results."""
    mv = job.version
    if not mv.run_id:
        raise MlflowNotFound("this version has no source run to keep the package beside the model.")
    progress.start("downloading")
    model_dir = gateway.download_model_dir(
        mv.model.name, mv.version, tmp / "model", max_bytes=settings.PACKAGE_MAX_ARTIFACT_BYTES
    )
    progress.start("loading")
    built = build(
        job.format,
        model_dir,
        tmp / "out",
        tolerance=tolerance.for_model(mv.model.name),
        on_step=progress.start,
    )
    progress.start("uploading")
    package = single_file(Path(built.path), tmp / "bundle")
    sha256, size = file_sha256(package), package.stat().st_size
    uri = gateway.log_run_artifact(mv.run_id, package, f"packages/{job.format}")
    return {
        "sha256": sha256,
        "size_bytes": size,
        "opset": built.opset,
        "io": built.io,
        "parity": built.parity.as_dict() if built.parity is not None else None,
        "artifact_uri": uri,
    }
