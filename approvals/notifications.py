"""Emails of the promotion workflow (Django's mail backend; the console backend in the demo).

Called after the deciding transaction committed; a mail failure never undoes a decision.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse

from approvals.eligibility import sod_conflict_reason
from approvals.models import Promotion


def _link(p: Promotion) -> str:
    base = settings.SITE_URL.rstrip("/")
    return f"{base}{reverse('approvals:promotion-detail', args=[p.pk])}"


def _load(promotion_id: int) -> Promotion | None:
    return (
        Promotion.objects.select_related("model", "version", "requested_by").filter(pk=promotion_id).first()
    )


def eligible_approvers(p: Promotion) -> list:
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=p.approver_groups)
        .exclude(pk=p.requested_by_id)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )
    # Every eligible approver, read in chunks: a target's approver groups are not capped.
    return [u for u in users.iterator(chunk_size=500) if sod_conflict_reason(p, u) is None]


def _send(
    promotion_id: int,
    recipients: Callable[[Promotion], list[str]],
    message: Callable[[Promotion], tuple[str, str]],
) -> int:
    """Mail the promotion's `message` (subject, body) to its `recipients`; 0 when the promotion is gone or there
    is nobody to tell."""
    p = _load(promotion_id)
    if p is None:
        return 0
    to = recipients(p)
    if not to:
        return 0
    subject, body = message(p)
    return send_mail(subject, body, None, to, fail_silently=False)


def _approvers(p: Promotion) -> list[str]:
    return [u.email for u in eligible_approvers(p)]


def _requester(p: Promotion) -> list[str]:
    return [p.requested_by.email] if p.requested_by.email else []


def _awaiting_message(p: Promotion) -> tuple[str, str]:
    subject = f"[registry] {p.model.name} v{p.version.version} → {p.target} awaits your signature"
    body = (
        f"{p.requested_by.get_username()} asks to {'roll back' if p.kind == 'rollback' else 'promote'} "
        f"{p.model.name} v{p.version.version} to {p.target}.\n\nJustification: {p.justification or '-'}\n"
        f"Signatures required: {p.required_approvals}\n\nReview and sign: {_link(p)}\n"
    )
    return subject, body


def _decided_message(p: Promotion) -> tuple[str, str]:
    subject = f"[registry] {p.model.name} v{p.version.version} → {p.target}: {p.get_state_display()}"
    body = f"Your promotion #{p.pk} is now {p.state.replace('_', ' ')}."
    if p.error:
        body += f"\n\n{p.error}"
    return subject, body + f"\n{_link(p)}\n"


def _applied_message(p: Promotion) -> tuple[str, str]:
    subject = f"[registry] {p.model.name} v{p.version.version} now holds {p.target}"
    body = f"Your promotion #{p.pk} was applied in MLflow at {p.applied_at:%Y-%m-%d %H:%M:%S} UTC."
    return subject, body + f"\n{_link(p)}\n"


def awaiting_approval(promotion_id: int) -> int:
    """The eligible approvers are asked to sign."""
    return _send(promotion_id, _approvers, _awaiting_message)


def decided(promotion_id: int) -> int:
    """The requester hears which state the promotion reached."""
    return _send(promotion_id, _requester, _decided_message)


def applied(promotion_id: int) -> int:
    """The requester hears that MLflow now holds the version."""
    return _send(promotion_id, _requester, _applied_message)
