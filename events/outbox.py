"""The outbox of outbound events: delivery rows written with their audit event, queued after commit, swept by
beat, replayed by staff.

`on_audit_event` is an audit-chain listener (registered in apps.ready): when the recorded action is one this
app sends out, it writes one pending delivery per active subscription to that event, in the transaction that
records the event, so an event rolled back sends nothing and a committed one is never lost. After the commit
a worker is asked to send each (events.sending); the beat sweep re-asks for any due delivery whose message was
lost.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEvent
from common import queue
from common.errors import Conflict, NotFound
from events import catalog
from events.models import Delivery, Subscription

log = logging.getLogger(__name__)
DELIVER_TASK = "events.tasks.deliver_task"


def new_delivery_id() -> str:
    return str(uuid.uuid4())


def enqueue(delivery_ids: list[int]) -> None:
    """Ask a worker to send these deliveries. A broker that is down loses nothing: the sweep sends them."""
    for pk in delivery_ids:
        try:
            queue.task(DELIVER_TASK).delay(pk)
        except Exception:  # the broker's many error types; the row is due and the beat sweep will send it
            log.warning("Could not queue delivery %s; the sweep will send it", pk, exc_info=True)


def enqueue_on_commit(delivery_ids: list[int]) -> None:
    transaction.on_commit(lambda: enqueue(delivery_ids))


def on_audit_event(event: AuditEvent) -> None:
    """Audit listener: a pending delivery per active subscription to the event (in the recording transaction)."""
    name = catalog.event_name(event.action, event.data or {})
    if name is None:
        return
    subscribers = [
        s for s in Subscription.objects.filter(active=True).only("pk", "events") if name in s.events
    ]
    if not subscribers:
        return
    payload = catalog.event_payload(
        name=name,
        seq=event.seq,
        at=event.at.isoformat(),
        actor=event.actor,
        object_type=event.object_type,
        object_id=event.object_id,
        data=event.data or {},
        link=catalog.link(settings.SITE_URL, name, event.object_type, event.object_id, event.data or {}),
    )
    now = timezone.now()
    rows = [
        Delivery(
            delivery_id=new_delivery_id(),
            subscription_id=s.pk,
            event=name,
            audit_seq=event.seq,
            payload=payload,
            next_attempt_at=now,
            created_at=now,
        )
        for s in subscribers
    ]
    # One by one rather than bulk_create: every database returns the keys then (they are queued by key).
    for row in rows:
        row.save(force_insert=True)
    enqueue_on_commit([row.pk for row in rows])


def replay(*, actor: str, delivery_id: int) -> Delivery:
    """A new delivery of a failed one's event to the same subscription (a new delivery id, signed anew);
    audited as `delivery.replayed`. 404 for no such delivery; 409 when it did not fail or the subscription is
    no longer active."""
    with transaction.atomic():
        original = Delivery.objects.select_related("subscription").filter(pk=delivery_id).first()
        if original is None:
            raise NotFound(f"No delivery #{delivery_id}.")
        if original.status != Delivery.Status.FAILED:
            raise Conflict(
                f"Delivery #{delivery_id} is {original.status}; only a failed delivery is replayed."
            )
        if not original.subscription.active:
            raise Conflict(f"Subscription #{original.subscription_id} was deleted; nothing is sent to it.")
        now = timezone.now()
        copy = Delivery.objects.create(
            delivery_id=new_delivery_id(),
            subscription=original.subscription,
            event=original.event,
            audit_seq=original.audit_seq,
            payload=original.payload,
            next_attempt_at=now,
            created_at=now,
            replay_of=original,
            replayed_by=actor,
        )
        audit.record(
            actor=actor,
            action="delivery.replayed",
            object_type="delivery",
            object_id=copy.delivery_id,
            data={
                "replay_of": original.delivery_id,
                "subscription": original.subscription_id,
                "event": original.event,
                "audit_seq": original.audit_seq,
            },
        )
        enqueue_on_commit([copy.pk])
    return copy


def due(*, limit: int = 100) -> list[int]:
    """Pending deliveries whose time has come (a retry's backoff ended, a lease ran out, a message was lost)."""
    return list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def sweep(*, limit: int = 100) -> list[int]:
    """Beat: queue every due delivery again (sending is idempotent: a delivery leased by a worker is skipped)."""
    ids = due(limit=limit)
    enqueue(ids)
    return ids
