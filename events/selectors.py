"""The reads of the events pages and API: subscriptions, the delivery log and one delivery with its attempts."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from common.errors import InvalidInput, NotFound
from events.models import Delivery, Subscription


def subscriptions(*, include_deleted: bool = True) -> list[Subscription]:
    qs = Subscription.objects.all()
    if not include_deleted:
        qs = qs.filter(active=True)
    return list(qs)


def parse_filters(params: Any) -> dict[str, Any]:
    """`subscription` (an id) and `status` from query parameters; InvalidInput when malformed."""
    out: dict[str, Any] = {}
    raw_sub = (params.get("subscription") or "").strip()
    if raw_sub:
        if not raw_sub.isdigit() or len(raw_sub) > 12:
            raise InvalidInput(
                f"subscription must be a subscription id, not {raw_sub[:40]!r}.", field="subscription"
            )
        out["subscription"] = int(raw_sub)
    raw_status = (params.get("status") or "").strip()
    if raw_status:
        if raw_status not in Delivery.Status.values:
            raise InvalidInput(
                f"status must be one of {', '.join(Delivery.Status.values)}, not {raw_status[:40]!r}.",
                field="status",
            )
        out["status"] = raw_status
    return out


def deliveries(*, subscription: int | None = None, status: str | None = None) -> QuerySet[Delivery]:
    """Newest first, with their subscription (for its URL)."""
    qs = Delivery.objects.select_related("subscription", "replay_of")
    if subscription is not None:
        qs = qs.filter(subscription_id=subscription)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def delivery(pk: int) -> Delivery:
    d = (
        Delivery.objects.select_related("subscription", "replay_of")
        .prefetch_related("attempt_log")
        .filter(pk=pk)
        .first()
    )
    if d is None:
        raise NotFound(f"No delivery #{pk}.")
    return d


def delivery_dict(d: Delivery, *, with_attempts: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": d.pk,
        "delivery_id": d.delivery_id,
        "subscription": d.subscription_id,
        "url": d.subscription.url,
        "event": d.event,
        "audit_seq": d.audit_seq,
        "status": d.status,
        "attempts": d.attempts,
        "status_code": d.last_status_code,
        "error": d.last_error,
        "response_excerpt": d.response_excerpt,
        "created_at": d.created_at.isoformat(),
        "next_attempt_at": d.next_attempt_at.isoformat() if d.status == Delivery.Status.PENDING else None,
        "finished_at": d.finished_at.isoformat() if d.finished_at else None,
        "replay_of": d.replay_of.delivery_id if d.replay_of_id else None,
        "replayed_by": d.replayed_by or None,
        "payload": d.payload,
    }
    if with_attempts:
        out["attempt_log"] = [
            {
                "number": a.number,
                "at": a.at.isoformat(),
                "status_code": a.status_code,
                "error": a.error,
                "response_excerpt": a.response_excerpt,
                "address": a.address,
                "duration_ms": a.duration_ms,
            }
            for a in d.attempt_log.all()
        ]
    return out
