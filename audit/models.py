"""The audit chain: an append-only, hash-linked log of every state change.

Rows are written only by `audit.services.record`; the database itself refuses UPDATE and DELETE
(and TRUNCATE on PostgreSQL) on this table — triggers installed by migration 0002 (see `triggers.py`).
"""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    # seq is the key: gap-free 1, 2, 3... in append order, so it is also the chain's order.
    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)  # a username, or "system"
    action = models.CharField(max_length=64)  # "promotion.requested", "policy.loaded", ...
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=255)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["actor", "seq"], name="audit_actor_seq"),
            models.Index(fields=["action", "seq"], name="audit_action_seq"),
            models.Index(fields=["object_type", "object_id", "seq"], name="audit_object_seq"),
            models.Index(fields=["at"], name="audit_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id} by {self.actor}"


class SsoIdentity(models.Model):
    """The account an OpenID Connect subject logs in as (`issuer`, `subject` = the ID token's iss and sub).

    Beside the roles (this app holds their names and audits their changes): a login through the provider finds
    its account here, never by a name or an e-mail the provider sends, and a signature under SSO must come back
    from the provider with this same subject."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True)
    # The provider's groups at the last login (shown to a user whose groups map to no role).
    provider_groups = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="audit_sso_identity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
