"""Who may request a promotion and who may sign one: the segregation-of-duties rule, with no workflow in it.

The selectors (the inbox), the notifications (who is e-mailed) and the signing services all ask here.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser

from approvals.models import Promotion
from audit import roles


def may_request(user: AbstractUser) -> bool:
    """Staff, ml-engineers and reviewers may request promotions and rollbacks (and re-run gates)."""
    return roles.may_request(user)


def may_cancel(p: Promotion, user: AbstractUser) -> bool:
    """The requester and staff may cancel a promotion."""
    return bool(user.is_staff or user.pk == p.requested_by_id)


def may_recheck(p: Promotion, user: AbstractUser) -> bool:
    """The requester, whoever may request promotions, and staff may re-run the gates or retry the apply."""
    return bool(user.is_staff or user.pk == p.requested_by_id or may_request(user))


def sod_conflict_reason(p: Promotion, user: AbstractUser) -> str | None:
    """Why this user may not sign this promotion whatever their groups, or None."""
    username = user.get_username()
    if p.requested_by_id == user.pk:
        return "You requested this promotion; someone else must sign it."
    # Identities MLflow fixed at creation (version and run user_id, mlflow.user as first seen), never the
    # tags as they are now: re-tagging a run in MLflow must not make its author eligible.
    if username.strip().casefold() in {author.casefold() for author in p.version.authors}:
        return (
            "You created or trained this model version in MLflow (its user_id, its source run's user_id or "
            "first-seen mlflow.user); someone else must sign it."
        )
    return None


def eligibility_problem(p: Promotion, user: AbstractUser) -> str | None:
    """Why this user may not sign this promotion now (not logged in, SoD, not in an approver group), or None."""
    if not user.is_authenticated or not user.is_active:
        return "Log in to sign."
    conflict = sod_conflict_reason(p, user)
    if conflict:
        return conflict
    if not roles.may_sign(roles.group_names(user), p.approver_groups or []):
        return f"Only members of {', '.join(p.approver_groups)} may sign a promotion to {p.target}."
    return None
