"""The registry mirror: MLflow Model Registry state as rows of our own.

Rows are written only by `mirror.sync` (one idempotent upsert for the full sync, the webhook path and
the reconcile). A model or version deleted in MLflow keeps its row with `deleted_at` set, so promotions,
cards and audit events that name it stay readable; lists and counts leave it out.
"""

import json

from django.db import models
from django.db.models import Q


def _int_or_float(text: str) -> int | float:
    return int(text) if len(text) <= 15 else float(text)


class MetricsDecoder(json.JSONDecoder):
    """Metric values read back as the floats MLflow gave: PostgreSQL's jsonb writes a float of more than 15
    digits in integer form (MLflow keeps ±inf as the largest float, 1.797…e308: a 309-digit integer once
    stored), which would read back as an int, show as such and look changed to every sync."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parse_int", _int_or_float)
        super().__init__(*args, **kwargs)


class LiveQuerySet(models.QuerySet):
    def live(self):
        return self.filter(deleted_at__isnull=True)


class MirroredRow(models.Model):
    """A row the sync copies from MLflow: when it was last synced, and when MLflow deleted it (the row stays)."""

    synced_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = LiveQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class RegisteredModel(MirroredRow):
    name = models.CharField(max_length=256, unique=True)
    description = models.TextField(blank=True, default="")
    tags = models.JSONField(default=dict, blank=True)
    aliases = models.JSONField(default=dict, blank=True)  # {alias: version}
    # Denormalised from the live versions by the sync so list pages need no aggregate per row.
    version_count = models.PositiveIntegerField(default=0)
    latest_version = models.PositiveIntegerField(null=True, blank=True)
    creation_timestamp = models.DateTimeField(null=True, blank=True)
    last_updated_timestamp = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["last_updated_timestamp"])]

    def __str__(self):
        return self.name

    @property
    def primary_metric(self) -> str | None:
        return self.tags.get("primary_metric") or None

    @property
    def primary_metric_goal(self) -> str:
        goal = (self.tags.get("primary_metric_goal") or "maximize").strip().lower()
        return goal if goal in ("maximize", "minimize") else "maximize"


class Run(MirroredRow):
    """A source run of a model version: latest metric values, params, tags, dataset inputs."""

    run_id = models.CharField(max_length=64, unique=True)
    experiment_id = models.CharField(max_length=64, blank=True, default="")
    run_name = models.CharField(max_length=256, blank=True, default="")
    status = models.CharField(max_length=32, blank=True, default="")
    # Author identities (see ModelVersion.authors): `user_id` is fixed by MLflow when the run is created and
    # kept as first seen; `first_mlflow_user` is the `mlflow.user` tag as first seen, since anyone with MLflow
    # write access can re-tag a run. A later different value is an IdentityChange, never an overwrite.
    user_id = models.CharField(max_length=256, blank=True, default="")
    first_mlflow_user = models.CharField(max_length=256, blank=True, default="")
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    artifact_uri = models.TextField(blank=True, default="")
    metrics = models.JSONField(default=dict, blank=True, decoder=MetricsDecoder)  # {key: latest value}
    params = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    # [{name, digest, source_type, source, context, schema, profile}]
    datasets = models.JSONField(default=list, blank=True)

    def __str__(self):
        return self.run_id

    @property
    def mlflow_user(self) -> str:
        """The `mlflow.user` tag as MLflow has it now (mutable: never an identity; see `authors`)."""
        return self.tags.get("mlflow.user", "")

    @property
    def authors(self) -> list[str]:
        return _distinct([self.user_id, self.first_mlflow_user])


class LoggedModel(MirroredRow):
    """An MLflow 3 logged model some version was registered from: its source run, params, and metrics, each
    metric linked to the dataset it was computed on by name and digest when MLflow recorded one. Kept when
    MLflow deletes it (like a run: a version's lineage still names it)."""

    model_id = models.CharField(max_length=64, unique=True)
    experiment_id = models.CharField(max_length=64, blank=True, default="")
    name = models.CharField(max_length=256, blank=True, default="")
    source_run_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    status = models.CharField(max_length=32, blank=True, default="")
    model_type = models.CharField(max_length=128, blank=True, default="")
    artifact_uri = models.TextField(blank=True, default="")
    creation_timestamp = models.DateTimeField(null=True, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    # [{key, value, step, dataset_name, dataset_digest, run_id}]
    metrics = models.JSONField(default=list, blank=True, decoder=MetricsDecoder)

    def __str__(self):
        return self.model_id


class ModelVersion(MirroredRow):
    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    stage = models.CharField(max_length=32, default="None")
    status = models.CharField(max_length=32, blank=True, default="")
    status_message = models.TextField(blank=True, default="")
    aliases = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True, default="")
    source = models.TextField(blank=True, default="")
    run_id = models.CharField(max_length=64, blank=True, default="")
    # MLflow 3: the logged model the version was registered from (MLflow's `model_id`; "" for MLflow 2 style).
    logged_model_id = models.CharField(max_length=64, blank=True, default="")
    source_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="versions"
    )
    creator = models.CharField(max_length=256, null=True, blank=True)  # MLflow's version user_id, first seen
    creation_timestamp = models.DateTimeField(null=True, blank=True)
    last_updated_timestamp = models.DateTimeField(null=True, blank=True)
    # Immutable artifact facts, filled in once by the enrichment task (not on the sync's hot path).
    content_hash = models.CharField(max_length=80, null=True, blank=True)
    signature = models.JSONField(null=True, blank=True)  # {"inputs": [...], "outputs": [...]}
    flavors = models.JSONField(default=list, blank=True)
    input_example = models.JSONField(null=True, blank=True)
    artifacts_read_at = models.DateTimeField(null=True, blank=True)
    # MAJOR.MINOR.PATCH+<hash8> against the model's previous version (mirror.semver), once artifacts are read.
    semver = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        ordering = ["model__name", "-version"]
        constraints = [models.UniqueConstraint(fields=["model", "version"], name="unique_model_version")]
        indexes = [
            models.Index(fields=["model", "-version"], name="version_newest_first"),
            models.Index(fields=["run_id"]),
            models.Index(fields=["model", "content_hash"], name="version_by_content_hash"),
            models.Index(
                fields=["model"],
                name="versions_awaiting_semver",
                condition=Q(semver__isnull=True, artifacts_read_at__isnull=False),
            ),
            models.Index(
                fields=["model", "version"], name="live_versions", condition=Q(deleted_at__isnull=True)
            ),
            # The dashboard's newest versions: without it each view sorted every live version (10,000: ~35 ms
            # under `make bench-load`), a cost that grew with the registry.
            models.Index(
                fields=["-creation_timestamp"],
                name="live_versions_newest",
                condition=Q(deleted_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.model.name} v{self.version}"

    @property
    def authors(self) -> list[str]:
        """Every identity MLflow recorded as this version's author, the one rule for segregation of duties and
        for every page: the version's `user_id`, its source run's `user_id` and the run's `mlflow.user` as
        first seen. Load `source_run` with the version (select_related) to keep this query-free."""
        run = self.source_run if self.source_run_id else None
        return _distinct([self.creator, *(run.authors if run is not None else ())])

    @property
    def author(self) -> str:
        """The authors for display ("" when MLflow recorded none)."""
        return ", ".join(self.authors)


def _distinct(names) -> list[str]:
    out: list[str] = []
    for name in names:
        name = (name or "").strip()
        if name and name.casefold() not in {n.casefold() for n in out}:
            out.append(name)
    return out


class IdentityChange(models.Model):
    """MLflow reported an author identity different from the one the mirror saw first (a re-tagged
    `mlflow.user`, a rewritten `user_id`). The mirror keeps the first value, which still counts for
    segregation of duties; this row shows the change on the dashboard and version page, like drift."""

    class Field(models.TextChoices):
        VERSION_USER_ID = "version.user_id"
        RUN_USER_ID = "run.user_id"
        RUN_MLFLOW_USER = "run.mlflow.user"

    field = models.CharField(max_length=32, choices=Field.choices)
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="identity_changes"
    )
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.CASCADE, related_name="identity_changes"
    )
    first_value = models.CharField(max_length=256, blank=True, default="")
    reported_value = models.CharField(max_length=256, blank=True, default="")
    detected_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)  # MLflow reports the first value again

    class Meta:
        ordering = ["-detected_at", "-id"]
        indexes = [models.Index(fields=["resolved_at", "-detected_at"])]

    def __str__(self):
        return f"{self.field}: {self.first_value!r} → {self.reported_value!r}"


class SyncRun(models.Model):
    class Kind(models.TextChoices):
        FULL = "full"
        WEBHOOK = "webhook"
        RECONCILE = "reconcile"  # the frequent, incremental reconcile (mirror.reconcile)
        SWEEP = "sweep", "Full sweep"  # the periodic full read that backs it (RECONCILE_FULL_SWEEP_SECONDS)

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # For a targeted (webhook) sync: the model, and the version when the event named one.
    model_name = models.CharField(max_length=256, blank=True, default="")
    version = models.PositiveIntegerField(null=True, blank=True)
    requested_by = models.CharField(max_length=150, blank=True, default="")
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # What was read from MLflow (API fields `models`, `versions`, `runs`) ...
    models_read = models.PositiveIntegerField(default=0)
    versions_read = models.PositiveIntegerField(default=0)
    runs_read = models.PositiveIntegerField(default=0)
    # ... and what changed in the mirror.
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    error = models.TextField(blank=True, default="")
    # A read of the whole registry (full, sweep, reconcile) that succeeded: the newest MLflow
    # last_updated_timestamp (ms, MLflow's clock) it saw; the next reconcile reads back to it (mirror.reconcile).
    watermark_ms = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-finished_at"]),
            models.Index(fields=["-finished_at"], name="syncrun_finished_idx"),  # the footer's newest run
        ]

    def __str__(self):
        return f"{self.kind} sync #{self.pk} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class WebhookDelivery(models.Model):
    class Outcome(models.TextChoices):
        ACCEPTED = "accepted"  # a targeted sync was enqueued
        IGNORED = "ignored"  # an event the app does not use (prompts, budgets, ...)

    delivery_id = models.CharField(max_length=128, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    entity = models.CharField(max_length=64)
    action = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    sync_run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.entity}.{self.action} {self.delivery_id}"


class MetricHistory(models.Model):
    """A metric's full history for one run, fetched from MLflow on demand and cached here."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metric_histories")
    key = models.CharField(max_length=250)
    points = models.JSONField(default=list)  # [{step, timestamp, value}] ordered by step
    fetched_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="unique_run_metric_history")]

    def __str__(self):
        return f"{self.run.run_id}:{self.key}"


class MlflowWrite(models.Model):
    """A write to MLflow that is not a promotion (first kind: set a model-version tag), queued in the transaction
    that decided it and applied by a worker until done (mirror.outbox). The promotion outbox is approvals'."""

    class Kind(models.TextChoices):
        VERSION_TAG = "version_tag"  # set tag `key` = `value` on model version `version` of `model_name`

    class Outcome(models.TextChoices):
        APPLIED = "applied"  # MLflow confirmed the value
        SUPERSEDED = "superseded"  # a newer value for the same tag was queued before this one was applied
        GONE = "gone"  # MLflow no longer has the version
        FAILED = "failed"  # MLflow refused the write (retrying would not help)

    kind = models.CharField(max_length=16, choices=Kind.choices)
    model_name = models.CharField(max_length=256)
    version = models.PositiveIntegerField()
    key = models.CharField(max_length=250)
    value = models.TextField(blank=True, default="")
    requested_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True, default="")
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            # One pending write per tag: a newer value supersedes the pending one (mirror.outbox.enqueue).
            models.UniqueConstraint(
                fields=["kind", "model_name", "version", "key"],
                condition=Q(done_at__isnull=True),
                name="one_pending_mlflow_write_per_key",
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="mlflow_write_pending", condition=Q(done_at__isnull=True)
            ),
            models.Index(fields=["model_name", "version", "key", "-id"], name="mlflow_write_by_key"),
        ]

    def __str__(self):
        return f"{self.kind} {self.model_name} v{self.version} {self.key}={self.value!r} #{self.pk}"
