"""Template helpers for the slots other pages include (version panel, model banner, dashboard panel)."""

from django import template

from approvals import selectors
from approvals.policy import get_policy

register = template.Library()

STATE_BADGES = {
    "checking": "badge-muted",
    "awaiting_approval": "badge-warn",
    "blocked": "badge-danger",
    "approved": "badge-ok",
    "applying": "badge-ok",
    "applied": "badge-ok",
    "rejected": "badge-danger",
    "cancelled": "badge-muted",
    "failed": "badge-danger",
}
GATE_BADGES = {
    "passed": "badge-ok",
    "failed": "badge-danger",
    "error": "badge-danger",
    "skipped": "badge-muted",
    "pending": "badge-muted",
}


@register.filter
def state_badge(state: str) -> str:
    return STATE_BADGES.get(state, "badge-muted")


@register.filter
def gate_badge(status: str) -> str:
    return GATE_BADGES.get(status, "badge-muted")


@register.filter
def state_label(state: str) -> str:
    return (state or "").replace("_", " ")


@register.simple_tag
def version_promotions(mv):
    return selectors.promotions_for_version(mv) if mv is not None else []


@register.simple_tag
def model_targets(model):
    return list(get_policy().targets_for(model.name).values()) if model is not None else []


@register.simple_tag
def open_drift(model):
    return selectors.open_drift_for_model(model) if model is not None else []


@register.simple_tag
def approvals_summary(user):
    return selectors.dashboard_summary(user)
