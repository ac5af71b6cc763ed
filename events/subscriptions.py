"""Staff's subscriptions to outbound events: create (the URL checked against SSRF rules first), deactivate.

Each is a row and an audit event. The secret is the HMAC key the receiver verifies with: generated when the
request brings none, shown only in the answer that created it, and stored sealed for the subscription's id
(events.sealing), which the row has once inserted: the insert and the sealing are one transaction.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from common import outbound_http
from common.errors import InvalidInput, NotFound
from events import sealing
from events.catalog import EVENTS
from events.models import Subscription

MIN_SECRET, MAX_SECRET = 16, 256
MAX_DESCRIPTION = 200


def as_dict(s: Subscription, *, with_secret: bool = False) -> dict[str, Any]:
    out = {
        "id": s.pk,
        "url": s.url,
        "events": list(s.events),
        "format": s.format,
        "description": s.description,
        "active": s.active,
        "created_by": s.created_by,
        "created_at": s.created_at.isoformat(),
        "deleted_by": s.deleted_by or None,
        "deleted_at": s.deleted_at.isoformat() if s.deleted_at else None,
    }
    if with_secret:
        out["secret"] = s.new_secret
    return out


def check_destination(url: Any) -> str:
    """The URL, stripped, when deliveries may go there; InvalidInput with the reason when not."""
    if not isinstance(url, str):
        raise InvalidInput("url is required: an http:// or https:// URL.", field="url")
    try:
        outbound_http.check(url, settings.OUTBOUND_ALLOWED_HOSTS)
    except outbound_http.Refused as exc:
        raise InvalidInput(str(exc), field="url") from None
    return url.strip()


def _events(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidInput(
            f"events is required: a list of event names from {', '.join(EVENTS)}.", field="events"
        )
    unknown = sorted({v for v in value if v not in EVENTS})
    if unknown:
        raise InvalidInput(
            f"Unknown event{'s' if len(unknown) > 1 else ''} {', '.join(unknown)[:300]}; "
            f"known: {', '.join(EVENTS)}.",
            field="events",
        )
    return [name for name in EVENTS if name in value]  # catalogue order, no repeats


def _secret(value: Any) -> str:
    if value is None or value == "":
        return secrets.token_urlsafe(32)
    if not isinstance(value, str) or not (MIN_SECRET <= len(value) <= MAX_SECRET) or not value.isprintable():
        raise InvalidInput(
            f"secret must be {MIN_SECRET} to {MAX_SECRET} printable characters (or left out: one is generated).",
            field="secret",
        )
    return value


def _format(value: Any) -> str:
    if value is None or value == "":
        return Subscription.Format.JSON
    if value not in Subscription.Format.values:
        raise InvalidInput("format must be json or slack.", field="format")
    return str(value)


def _description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"description must be text of at most {MAX_DESCRIPTION} characters.", field="description"
        )
    return value.strip()


def create(*, actor: str, data: Any) -> Subscription:
    """A new active subscription (audited as `subscription.created`, without its secret); its `new_secret` is
    the plaintext secret, for the answer to show once."""
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object with url, events, secret and format.")
    events, secret = _events(data.get("events")), _secret(data.get("secret"))
    fmt, description = _format(data.get("format")), _description(data.get("description"))
    sub = Subscription(
        url=check_destination(data.get("url")),  # last: it resolves the host
        events=events,
        format=fmt,
        description=description,
        created_by=actor,
        created_at=timezone.now(),
    )
    with transaction.atomic():
        sub.save()
        sub.sealed_secret = sealing.seal(secret, sub.pk)
        sub.save(update_fields=["sealed_secret"])
        audit.record(
            actor=actor,
            action="subscription.created",
            object_type="subscription",
            object_id=str(sub.pk),
            data={"url": sub.url, "events": sub.events, "format": sub.format},
        )
    sub.new_secret = secret
    return sub


def deactivate(*, actor: str, subscription_id: int) -> Subscription:
    """Stop sending to the subscription (its deliveries stay listed); audited as `subscription.deleted`."""
    with transaction.atomic():
        # FOR NO KEY UPDATE: it does not wait for (nor block) a delivery row being written for this subscription
        # under the audit chain's lock, which the audit record below takes in turn.
        sub = (
            Subscription.objects.select_for_update(no_key=True)
            .filter(pk=subscription_id, active=True)
            .first()
        )
        if sub is None:
            raise NotFound(f"No active subscription #{subscription_id}.")
        sub.active, sub.deleted_by, sub.deleted_at = False, actor, timezone.now()
        sub.save(update_fields=["active", "deleted_by", "deleted_at"])
        audit.record(
            actor=actor,
            action="subscription.deleted",
            object_type="subscription",
            object_id=str(sub.pk),
            data={"url": sub.url},
        )
    return sub
