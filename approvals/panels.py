"""Governance's panels on the mirror's pages (`mirror.slots`), registered in approvals' AppConfig.ready():
the promotions of a version with the request form, the drift banner of a model, and the dashboard summary."""

from __future__ import annotations

from approvals import selectors
from approvals.policy import get_policy
from mirror.slots import Panel


def version_promotions(request, *, model, mv, **_) -> Panel | None:
    """The version page: its promotions and, for a live version, a request form for the model's targets."""
    if mv is None:
        return None
    return Panel(
        "approvals/_version_panel.html",
        {
            "promos": selectors.promotions_for_version(mv),
            "targets": list(get_policy().targets_for(model.name).values()) if model is not None else [],
        },
    )


def model_banner(request, *, model, **_) -> Panel | None:
    """The model and version pages: a red banner while MLflow disagrees with the last applied promotion."""
    if model is None:
        return None
    return Panel("approvals/_model_slot.html", {"drifts": selectors.open_drift_for_model(model)})


def dashboard(request, *, user, **_) -> Panel | None:
    """The dashboard: the inbox count, open promotions and drift."""
    if not user.is_authenticated:
        return None
    return Panel("approvals/_dashboard_panel.html", {"s": selectors.dashboard_summary(user)})
