"""Writes of packaging: asking for a package (idempotent per version and format) and the audit events of a job's
life. The job's own transitions (claim, heartbeat, finish, give back an expired lease) are in packager.lease."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from audit.services import record
from common import queue
from common.errors import InvalidInput, NotAllowed
from mirror import outbox
from mirror.models import ModelVersion
from packager import formats
from packager.models import LIVE_STATES, PackageJob

# packager.tasks imports the runner, which imports this module: the task is enqueued by its name.
RUN_TASK = "packager.tasks.run_package_job"
SUPPORTED_FORMATS = formats.SUPPORTED_FORMATS


def audit(job: PackageJob, action: str, *, actor: str = "system", **data) -> None:
    """One audit event about a job (inside the caller's transaction)."""
    mv = job.version
    record(
        actor=actor,
        action=action,
        object_type="package",
        object_id=str(job.pk),
        data={"model": mv.model.name, "version": mv.version, "format": job.format, **data},
    )


def check_format(fmt, mv: ModelVersion) -> str:
    """The format asked for, when this app can package the version in it; else a 400 naming what it can."""
    supported = ", ".join(SUPPORTED_FORMATS)
    if not isinstance(fmt, str) or not fmt.strip():
        raise InvalidInput(f"Choose a format: one of {supported}.", field="format")
    fmt = fmt.strip().lower()[:40]
    # Until the version's artifacts are read its flavors are unknown: only the format's name is checked, and a
    # build that cannot read the model fails with a sentence.
    flavors = list(mv.flavors or []) if mv.artifacts_read_at is not None else []
    try:
        if flavors:
            formats.check_supported(fmt, flavors)
        elif fmt not in SUPPORTED_FORMATS:
            raise formats.UnsupportedFormat(
                f"{fmt!r} is not a package format; supported formats: {supported}."
            )
    except formats.UnsupportedFormat as exc:
        raise InvalidInput(str(exc), field="format", supported=list(SUPPORTED_FORMATS)) from None
    return fmt


def live_job(mv: ModelVersion, fmt: str) -> PackageJob | None:
    return (
        PackageJob.objects.filter(version=mv, format=fmt, state__in=LIVE_STATES)
        .select_related("version__model", "requested_by")
        .first()
    )


def request_package(*, user, mv: ModelVersion, fmt) -> tuple[PackageJob, bool]:
    """(job, created): the version's queued, running or succeeded job in that format, or a new queued job whose
    task is sent when the transaction commits. A failed job stays as it was; asking again makes a new one."""
    if mv.deleted_at is not None:
        raise NotAllowed("This version was deleted in MLflow; it cannot be packaged.")
    fmt = check_format(fmt, mv)
    existing = live_job(mv, fmt)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            job = PackageJob.objects.create(version=mv, format=fmt, requested_by=user)
            audit(job, "package.requested", actor=user.get_username())
            queue.send_on_commit(RUN_TASK, job.pk)  # a broker that is down: the sweep sends it
    except IntegrityError:
        # Asked twice at the same moment: the other request's job won the unique constraint.
        existing = live_job(mv, fmt)
        if existing is None:
            raise
        return existing, False
    job.version = mv
    return job, True


def after_success(job: PackageJob, *, sha256: str) -> None:
    """In the transaction that records a succeeded job: queue the version tag `package.<format>.sha256` for
    MLflow (the mirror's outbox applies it once this commits, retrying while MLflow is down)."""
    mv = job.version
    outbox.enqueue_version_tag(
        model_name=mv.model.name, version=mv.version, key=f"package.{job.format}.sha256", value=sha256
    )
