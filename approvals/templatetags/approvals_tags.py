"""Template helpers of governance's pages and panels (the panels on the mirror's pages get their data from
`approvals.panels`, through the mirror's page slots)."""

from django import template

from approvals import selectors

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
def open_drift(model):
    return selectors.open_drift_for_model(model) if model is not None else []
