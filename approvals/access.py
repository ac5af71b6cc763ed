"""Authorization chokepoint for promotions and drift: every view and API view gets its objects here.

Every authenticated user may read promotions, drift and history (`API.md`, "Roles"); who may *change* a
promotion is decided by the services (segregation of duties lives there, not in views).
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from approvals import selectors
from approvals.models import Promotion


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
