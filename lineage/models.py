from django.conf import settings
from django.db import models


class DatasetFlag(models.Model):
    """A dataset (by digest) that staff flagged as wrong; lifting a flag keeps the row (lifted_by/lifted_at)."""

    digest = models.CharField(max_length=255, db_index=True)
    reason = models.TextField()
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dataset_flags"
    )
    flagged_at = models.DateTimeField()
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="lifted_dataset_flags",
        null=True,
        blank=True,
    )
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-flagged_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["digest"],
                condition=models.Q(lifted_at__isnull=True),
                name="one_active_flag_per_digest",
            )
        ]

    def __str__(self) -> str:
        return f"flag {self.digest}"

    @property
    def active(self) -> bool:
        return self.lifted_at is None
