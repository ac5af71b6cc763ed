"""Model cards: one document per model version, kept as immutable revisions.

A save never changes a revision: it adds the next one. The rendered (sanitised) HTML, the completeness
score and the validated front matter are computed once when the revision is written and stored on its
row, so reading a card costs one query and no markdown rendering.
"""

from django.conf import settings
from django.db import models


class CardRevision(models.Model):
    version = models.ForeignKey(
        "registry_ui.ModelVersion", on_delete=models.PROTECT, related_name="card_revisions"
    )
    revision = models.PositiveIntegerField()
    markdown = models.TextField()
    content_hash = models.CharField(max_length=80)  # "sha256:<hex>" of the markdown's UTF-8 bytes
    html = models.TextField()  # sanitised rendering, cached for the life of the revision
    front_matter = models.JSONField(default=dict, blank=True)
    score = models.FloatField()
    missing = models.JSONField(default=list, blank=True)
    author = models.CharField(max_length=150)  # a username, or "system" for generated drafts
    comment = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version_id", "-revision"]
        constraints = [models.UniqueConstraint(fields=["version", "revision"], name="unique_card_revision")]
        indexes = [models.Index(fields=["version", "-revision"], name="card_rev_newest_first")]

    def __str__(self):
        return f"card of version #{self.version_id} r{self.revision}"


class CardChart(models.Model):
    """A static chart image (PNG, base64) for exports, cached per version and keyed by a digest of its data."""

    version = models.ForeignKey(
        "registry_ui.ModelVersion", on_delete=models.CASCADE, related_name="card_charts"
    )
    key = models.CharField(max_length=64)  # sha256 hex of the chart's input data
    name = models.CharField(max_length=200)
    png_base64 = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="unique_card_chart")]

    def __str__(self):
        return f"chart {self.name} of version #{self.version_id}"


class BulkExport(models.Model):
    """A zip of card exports for auditors, built by a Celery task; the page polls its progress."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    models_selected = models.JSONField(default=list, blank=True)  # model names
    alias = models.CharField(max_length=256, blank=True, default="")  # "everything holding alias X"
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
        ordering = ["-id"]

    def __str__(self):
        return f"bulk card export #{self.pk} ({self.state})"

    @property
    def progress(self) -> int:
        if self.state == self.State.SUCCEEDED:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.SUCCEEDED, self.State.FAILED)
