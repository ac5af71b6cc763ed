"""The promotion workflow: requests, gate results, signed approvals, the MLflow outbox, drift and target history.

State changes happen only in the workflow services, `approvals.workflow` (each one audited); these are plain rows.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from common.jobs import FileJob


class Promotion(models.Model):
    class Kind(models.TextChoices):
        PROMOTE = "promote"
        ROLLBACK = "rollback"

    class State(models.TextChoices):
        CHECKING = "checking"
        AWAITING_APPROVAL = "awaiting_approval"
        BLOCKED = "blocked"
        APPROVED = "approved"
        APPLYING = "applying"
        APPLIED = "applied"
        REJECTED = "rejected"
        CANCELLED = "cancelled"
        FAILED = "failed"

    # A promotion in one of these states still holds its (model, version, target) slot.
    OPEN_STATES = ("checking", "awaiting_approval", "blocked", "approved", "applying", "failed")

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PROMOTE)
    model = models.ForeignKey(
        "registry_ui.RegisteredModel", on_delete=models.PROTECT, related_name="promotions"
    )
    version = models.ForeignKey(
        "registry_ui.ModelVersion", on_delete=models.PROTECT, related_name="promotions"
    )
    target = models.CharField(max_length=64)
    # The target's MLflow side as the policy said at request time: {"alias": X} or {"stage": X}.
    mlflow_target = models.JSONField(default=dict)
    state = models.CharField(max_length=24, choices=State.choices, default=State.CHECKING)
    justification = models.TextField(blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="promotions_requested"
    )
    requested_at = models.DateTimeField()
    previous_version = models.PositiveIntegerField(null=True, blank=True)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    approver_groups = models.JSONField(default=list)
    gate_specs = models.JSONField(default=list)  # [{type, params}] snapshot of the policy at request time
    # When the current gate run began (request or recheck): a gate waiting for data gives up a bounded time after.
    checking_since = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)  # approved / rejected / cancelled
    applied_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            # The race-proof half of "409 when an open promotion for the same model, version and target exists".
            models.UniqueConstraint(
                fields=["model", "version", "target"],
                condition=Q(
                    state__in=["checking", "awaiting_approval", "blocked", "approved", "applying", "failed"]
                ),
                name="one_open_promotion_per_version_target",
            )
        ]
        indexes = [
            models.Index(fields=["state", "-requested_at"]),
            models.Index(fields=["model", "target", "-applied_at"]),
        ]

    def __str__(self):
        return (
            f"#{self.pk} {self.kind} {self.model.name} v{self.version.version} → {self.target} ({self.state})"
        )


class GateResult(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PASSED = "passed"
        FAILED = "failed"
        ERROR = "error"
        SKIPPED = "skipped"

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="gate_results")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    observed = models.JSONField(null=True, blank=True)
    expected = models.JSONField(null=True, blank=True)
    detail = models.TextField(blank=True, default="")
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["promotion", "position"]
        constraints = [models.UniqueConstraint(fields=["promotion", "position"], name="unique_gate_position")]

    def __str__(self):
        return f"{self.name}: {self.status}"


class Approval(models.Model):
    """An electronic signature: who (user + printed name), when (UTC), what it means, and what was signed."""

    class Decision(models.TextChoices):
        APPROVE = "approve"
        REJECT = "reject"

    class Meaning(models.TextChoices):
        APPROVAL = "approval"
        REVIEW = "review"
        RESPONSIBILITY = "responsibility"

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="approvals")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures"
    )
    printed_name = models.CharField(max_length=300)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    meaning = models.CharField(max_length=16, choices=Meaning.choices, default=Meaning.APPROVAL)
    comment = models.TextField(blank=True, default="")
    signed_at = models.DateTimeField()
    # {"version_hash", "card_hash", "gates_hash"} plus the inputs shown to the signer
    # ("version_content_hash", "card_revision", "card_content_hash").
    signed_hashes = models.JSONField(default=dict)
    # How the signer authenticated for this signature: password | sso ("fresh_login" on rows signed before
    # every signature asked for the password again; kept as recorded).
    auth_method = models.CharField(max_length=16, default="password")
    # A signature stays a record forever; it stops counting when what it signed changed or a gate failed
    # before the apply (it must then be given again, on the current state).
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["promotion", "signed_at", "id"]
        constraints = [
            # Each approver counts once, even under concurrent submissions (superseded signatures aside).
            models.UniqueConstraint(
                fields=["promotion", "reviewer"],
                condition=Q(superseded_at__isnull=True),
                name="one_signature_per_reviewer",
            )
        ]

    def __str__(self):
        return f"{self.printed_name} {self.decision} #{self.promotion_id}"

    @property
    def counts(self) -> bool:
        return self.superseded_at is None


class SigningFailure(models.Model):
    """A signing attempt refused for a wrong password: the counter behind the signing lockout (by user and by
    address, the same thresholds as the login lockout)."""

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self):
        return f"{self.username} from {self.ip_address} at {self.at:%Y-%m-%d %H:%M:%S}"


class OutboxItem(models.Model):
    """A pending MLflow change, written in the transaction that decided it; a worker applies it until done."""

    class Kind(models.TextChoices):
        APPLY = "apply"  # apply an approved promotion
        REVERT = "revert"  # put MLflow back after drift (policy on_drift: revert)

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.APPLY)
    promotion = models.ForeignKey(
        Promotion, null=True, blank=True, on_delete=models.PROTECT, related_name="outbox"
    )
    drift = models.ForeignKey(
        "DriftRecord", null=True, blank=True, on_delete=models.PROTECT, related_name="outbox"
    )
    model_name = models.CharField(max_length=256)
    target = models.CharField(max_length=64)
    mlflow_target = models.JSONField(default=dict)  # {"alias": X} | {"stage": X}
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True, default="")
    done_at = models.DateTimeField(null=True, blank=True)
    # applied | cancelled | superseded | invalidated (a signature no longer bound to the state applied)
    outcome = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            # One pending apply per promotion. A done one may be followed by another: an apply refused because
            # what was signed changed (outcome "invalidated") needs fresh signatures and then a new apply.
            models.UniqueConstraint(
                fields=["promotion"],
                condition=Q(kind="apply", done_at__isnull=True),
                name="one_apply_outbox_per_promotion",
            )
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="outbox_pending", condition=Q(done_at__isnull=True))
        ]

    def __str__(self):
        return f"outbox #{self.pk} {self.kind} {self.model_name} v{self.version} → {self.target}"


class DriftRecord(models.Model):
    """MLflow's target holder differs from the last applied promotion, and nothing in flight explains it."""

    model = models.ForeignKey(
        "registry_ui.RegisteredModel", on_delete=models.PROTECT, related_name="drift_records"
    )
    target = models.CharField(max_length=64)
    mlflow_version = models.PositiveIntegerField(null=True, blank=True)  # None: the alias was removed
    approved_version = models.PositiveIntegerField(null=True, blank=True)
    detected_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    action = models.CharField(max_length=16, default="flag")  # flag | revert
    sync_run_id = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        indexes = [
            models.Index(fields=["model", "target"], name="drift_open", condition=Q(resolved_at__isnull=True))
        ]

    def __str__(self):
        return f"drift {self.model.name}/{self.target}: MLflow v{self.mlflow_version}, approved v{self.approved_version}"


class TargetHolding(models.Model):
    """Who held target T of a model from when to when — the answer to "what was in production at time T".

    Every holder the mirror observed is a row, from the first sync on: put there by an applied promotion of this
    app (`promotion`), seen in MLflow while this app governed nothing there yet (`observed`), or seen in MLflow
    against the last applied promotion (`drift`). Staff may adopt an observed holder: drift is then measured
    against it, as against an applied promotion."""

    class Source(models.TextChoices):
        PROMOTION = "promotion"
        OBSERVED = "observed"
        DRIFT = "drift"

    model = models.ForeignKey(
        "registry_ui.RegisteredModel", on_delete=models.PROTECT, related_name="holdings"
    )
    target = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    held_from = models.DateTimeField()
    held_to = models.DateTimeField(null=True, blank=True)
    promotion = models.ForeignKey(
        Promotion, null=True, blank=True, on_delete=models.PROTECT, related_name="holdings"
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.OBSERVED)
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    adopted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["model", "target", "held_from", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "target"], condition=Q(held_to__isnull=True), name="one_current_holder"
            )
        ]
        indexes = [models.Index(fields=["model", "target", "held_from"], name="holding_from")]

    def __str__(self):
        return f"{self.model.name}/{self.target}: v{self.version} from {self.held_from:%Y-%m-%d %H:%M}"


class EvidencePack(FileJob):
    """An auditor's evidence pack for one target, built by a Celery task; the page polls its progress.
    Its `total` counts the versions in the pack plus one step for the audit chain."""

    target = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64, blank=True, default="")

    class Meta(FileJob.Meta):
        pass

    def __str__(self):
        return f"evidence pack #{self.pk} for {self.target} ({self.state})"
