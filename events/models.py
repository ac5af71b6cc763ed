"""Outbound events: staff's subscriptions, and the outbox of deliveries a worker sends to them.

A delivery row is written in the transaction that records its event in the audit chain (events.outbox); a worker
sends it, signed, and records each attempt. A subscription is never deleted, only deactivated: its deliveries
stay readable, and no row lock of a delete can meet the audit chain's lock the wrong way round.
"""

from django.db import models


class Subscription(models.Model):
    class Format(models.TextChoices):
        JSON = "json", "JSON (signed event)"
        SLACK = "slack", "Slack / Teams message"

    url = models.CharField(max_length=2000)
    events = models.JSONField(default=list)  # event names (events.catalog.EVENTS)
    # The HMAC key the receiver shares, sealed under OUTBOUND_SECRETS_KEY for this subscription (events.sealing):
    # the database alone cannot sign a delivery. The plaintext is shown once, in the answer that created it.
    sealed_secret = models.TextField()
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.JSON)
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    deleted_by = models.CharField(max_length=150, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    # Not a column: the plaintext secret, on the instance events.subscriptions.create returns only.
    new_secret: str = ""

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"subscription #{self.pk} → {self.url}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    delivery_id = models.CharField(max_length=64, unique=True)  # X-Registry-Delivery-Id
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="deliveries")
    event = models.CharField(max_length=64)
    audit_seq = models.BigIntegerField(null=True, blank=True)  # the audit event it tells about
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()  # due time: backoff, or the lease of a worker sending it
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replays"
    )
    replayed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="events_delivery_due"),
            models.Index(fields=["subscription", "-created_at"], name="events_delivery_sub"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.delivery_id} ({self.event}, {self.status})"


class Attempt(models.Model):
    """One try at sending a delivery: what the receiver answered, or why nothing was sent."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    address = models.CharField(max_length=64, blank=True)  # the IP the request was pinned to
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="events_attempt_once"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery #{self.delivery_id}"
