"""A packaging job: one version in one portable format (ONNX, TorchScript, joblib, SavedModel), built by a
Celery worker that holds a lease on the row while it works (packager.lease), with its progress steps, the
package's hash, size and parity, and where MLflow keeps it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

# The steps a job goes through, in order, and the percent reached when each one starts.
STEPS = ("downloading", "loading", "converting", "validating", "uploading")
STEP_START_PERCENT = {"downloading": 0, "loading": 20, "converting": 30, "validating": 60, "uploading": 85}
LIVE_STATES = ("queued", "running", "succeeded")


def empty_steps() -> list[dict]:
    return [{"name": name, "started_at": None, "finished_at": None} for name in STEPS]


class PackageJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    version = models.ForeignKey("registry_ui.ModelVersion", on_delete=models.PROTECT, related_name="packages")
    format = models.CharField(max_length=16)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    steps = models.JSONField(default=empty_steps)  # [{name, started_at, finished_at}] in STEPS order
    step = models.CharField(max_length=16, blank=True, default="")  # the current (or last) step
    percent = models.PositiveSmallIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    opset = models.PositiveIntegerField(null=True, blank=True)
    parity = models.JSONField(null=True, blank=True)  # {rows, max_abs_diff, passed, tolerance}
    io = models.JSONField(null=True, blank=True)  # {inputs: [{name, type, shape}], outputs: [...]}
    artifact_uri = models.CharField(max_length=1000, blank=True, default="")
    error = models.TextField(blank=True, default="")  # a sentence for a user
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(auto_now_add=True)  # created, or given back by an expired lease
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)  # claims by a worker
    worker = models.CharField(max_length=200, blank=True, default="")  # the lease holder while running
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Asking again returns the live job: at most one queued, running or succeeded per version and
            # format (a failed one may be retried by a new job).
            models.UniqueConstraint(
                fields=["version", "format"],
                condition=Q(state__in=LIVE_STATES),
                name="one_live_package_per_version_format",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "lease_expires_at"], name="package_job_leases"),
            models.Index(fields=["version", "-id"], name="package_jobs_of_version"),
        ]

    def __str__(self):
        return f"package #{self.pk} {self.format} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.SUCCEEDED, self.State.FAILED)

    @property
    def filename(self) -> str:
        """The package's file name in MLflow (the last segment of artifact_uri)."""
        return self.artifact_uri.rstrip("/").rsplit("/", 1)[-1] if self.artifact_uri else ""
