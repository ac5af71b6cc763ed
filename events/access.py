"""Who may see and change outbound events: staff alone (subscriptions, deliveries, replays). One access helper
per object type, as in every app: a page or API view gets its objects here (403 not staff, 404 unknown)."""

from __future__ import annotations

from django.http import Http404

from common.errors import NotFound
from events import selectors
from events.models import Delivery
from mirror.access import require_staff

__all__ = ["access_delivery", "require_staff"]


def access_delivery(user, pk) -> Delivery:
    """One delivery with its subscription and attempts (staff; 404 when there is none)."""
    require_staff(user)
    try:
        return selectors.delivery(int(pk))
    except (NotFound, TypeError, ValueError):
        raise Http404(f"No delivery #{pk}.") from None
