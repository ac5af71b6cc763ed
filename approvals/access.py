"""Authorization chokepoint for promotions and drift: every view and API view gets its objects here.

Every authenticated user may read promotions, drift and history (`API.md`, "Roles"); who may *change* a
promotion is decided by the services (segregation of duties lives there, not in views).
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from approvals import selectors
from approvals.models import Promotion
from audit import roles
from mirror.access import access_model, access_version
from mirror.models import ModelVersion, RegisteredModel


def _require_user(user) -> None:
    if not user.is_authenticated:
        raise PermissionDenied("Log in to see promotions.")


def access_promotion(user, pk) -> Promotion:
    _require_user(user)
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise Http404(f"{pk!r} is not a promotion id.") from None
    p = selectors.promotion_detail(number)
    if p is None:
        raise Http404(f"No promotion #{number}.")
    return p


def require_requester(user) -> None:
    """Who may request promotions and rollbacks (and see their forms): refused before the request is read."""
    _require_user(user)
    if not roles.may_request(user):
        raise PermissionDenied("Only ml-engineers, reviewers or staff may request promotions and rollbacks.")


def access_version_to_request(user, name: str, version) -> ModelVersion:
    mv = access_version(user, name, version)
    require_requester(user)
    return mv


def access_model_to_roll_back(user, name: str) -> RegisteredModel:
    model = access_model(user, name)
    require_requester(user)
    return model


def access_model_to_adopt(user, name: str) -> RegisteredModel:
    """Staff adopt a holder set outside this app (refused before the request is read)."""
    model = access_model(user, name)
    if not user.is_staff:
        raise PermissionDenied("Only staff may adopt a holder set outside this app.")
    return model
