"""Model cards: one document per model version, kept as immutable revisions.

A save never changes a revision: it adds the next one. The rendered (sanitised) HTML, the completeness
score and the validated front matter are computed once when the revision is written and stored on its
row, so reading a card costs one query and no markdown rendering.
"""

from django.db import models

from common.jobs import FileJob


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


class BulkExport(FileJob):
    """A zip of card exports for auditors, built by a Celery task; the page polls its progress."""

    models_selected = models.JSONField(default=list, blank=True)  # model names
    alias = models.CharField(max_length=256, blank=True, default="")  # "everything holding alias X"

    class Meta(FileJob.Meta):
        pass

    def __str__(self):
        return f"bulk card export #{self.pk} ({self.state})"
