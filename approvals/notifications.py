"""Emails of the promotion workflow (Django's mail backend; the console backend in the demo).

Called after the deciding transaction committed; a mail failure never undoes a decision.
"""

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


def awaiting_approval(promotion_id: int) -> int:
    p = _load(promotion_id)
    if p is None:
        return 0
    recipients = [u.email for u in eligible_approvers(p)]
    if not recipients:
        return 0
    subject = f"[registry] {p.model.name} v{p.version.version} → {p.target} awaits your signature"
    body = (
        f"{p.requested_by.get_username()} asks to {'roll back' if p.kind == 'rollback' else 'promote'} "
        f"{p.model.name} v{p.version.version} to {p.target}.\n\nJustification: {p.justification or '-'}\n"
        f"Signatures required: {p.required_approvals}\n\nReview and sign: {_link(p)}\n"
    )
    return send_mail(subject, body, None, recipients, fail_silently=False)


def _to_requester(p: Promotion, subject: str, body: str) -> int:
    email = p.requested_by.email
    if not email:
        return 0
    return send_mail(subject, body + f"\n{_link(p)}\n", None, [email], fail_silently=False)


def decided(promotion_id: int) -> int:
    p = _load(promotion_id)
    if p is None:
        return 0
    subject = f"[registry] {p.model.name} v{p.version.version} → {p.target}: {p.get_state_display()}"
    body = f"Your promotion #{p.pk} is now {p.state.replace('_', ' ')}."
    if p.error:
        body += f"\n\n{p.error}"
    return _to_requester(p, subject, body)


def applied(promotion_id: int) -> int:
    p = _load(promotion_id)
    if p is None:
        return 0
    subject = f"[registry] {p.model.name} v{p.version.version} now holds {p.target}"
    body = f"Your promotion #{p.pk} was applied in MLflow at {p.applied_at:%Y-%m-%d %H:%M:%S} UTC."
    return _to_requester(p, subject, body)
