"""Sending one delivery, by a worker: signed in MLflow's webhook scheme, to the address checked against the
SSRF rules at this very moment (after DNS resolution, pinned for the request), retried with exponential backoff
up to OUTBOUND_MAX_ATTEMPTS.

Idempotent and never a row lock held across the network, as the promotion outbox: claim (a lease and an attempt
number), talk (HTTP), record (an attempt row, the delivery's new state and its audit event). A receiver that
answers 2xx has it; anything else (another status, a timeout, a refused connection) is retried; an address the
SSRF rules refuse fails at once, and so does a secret that does not open (events.sealing: a missing or wrong
OUTBOUND_SECRETS_KEY, a row altered in the database), with the reason and nothing sent. The secret is opened
here only, for the signature, and never stored or logged in the clear.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from common import outbound_http, webhook_signing
from events import catalog, sealing
from events.models import Attempt, Delivery

MAX_ERROR = 1000
# A claimed delivery is not taken again (by another worker or the sweep) before this: above a try's longest time.
LEASE_SECONDS = 60


@dataclass
class _Claim:
    delivery_id: str
    subscription_id: int
    attempt: int
    url: str
    sealed_secret: str
    format: str
    payload: dict


@dataclass
class _Talk:
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""
    address: str = ""
    refused: bool = False  # permanent: the SSRF rules refuse the destination, or the secret does not open
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: base, 2×base, 4×base ... up to the cap."""
    base = settings.OUTBOUND_BACKOFF_SECONDS
    return float(min(base * 2 ** max(attempts - 1, 0), settings.OUTBOUND_MAX_BACKOFF_SECONDS))


def deliver(*, delivery_pk: int, now: datetime | None = None) -> tuple[str, float | None]:
    """Send one delivery. Returns (outcome, retry_in_seconds): outcome is one of
    succeeded | retry | failed | done | skipped."""
    claimed = _claim(delivery_pk, now or timezone.now())
    if isinstance(claimed, str):
        return claimed, None
    talk = _talk(claimed)
    return _record(delivery_pk, claimed, talk)


def _claim(delivery_pk: int, now: datetime) -> _Claim | str:
    with transaction.atomic():
        d = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_pk)
            .first()
        )
        if d is None:
            return "skipped"  # another worker holds it right now (or it does not exist)
        if d.status != Delivery.Status.PENDING:
            return "done"
        if d.next_attempt_at > now + timedelta(seconds=0.5):
            return "skipped"  # backing off or leased; its own retry or the sweep comes back
        if not d.subscription.active:
            _finish(d, Delivery.Status.FAILED, error="The subscription was deleted before this was sent.")
            return "failed"
        d.attempts += 1
        d.next_attempt_at = now + timedelta(seconds=LEASE_SECONDS)
        d.save(update_fields=["attempts", "next_attempt_at"])
        sub = d.subscription
        return _Claim(d.delivery_id, sub.pk, d.attempts, sub.url, sub.sealed_secret, sub.format, d.payload)


def _talk(c: _Claim) -> _Talk:
    talk = _Talk()
    started = time.monotonic()
    try:
        secret = sealing.unseal(c.sealed_secret, c.subscription_id)
        target, talk.address = outbound_http.check(c.url, settings.OUTBOUND_ALLOWED_HOSTS)
        body = catalog.body(c.payload, c.format)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "registry-governance-events/1",
            **webhook_signing.signed_headers(webhook_signing.REGISTRY, secret, c.delivery_id, body),
        }
        answer = outbound_http.post(
            target,
            talk.address,
            body,
            headers,
            timeout_seconds=settings.OUTBOUND_TIMEOUT_SECONDS,
            excerpt_bytes=settings.OUTBOUND_EXCERPT_BYTES,
        )
        talk.status_code, talk.excerpt = answer.status, answer.excerpt
        if not talk.ok:
            hint = " (redirects are not followed)" if 300 <= answer.status < 400 else ""
            talk.error = f"The receiver answered {answer.status}{hint}."
    except (outbound_http.Refused, sealing.Unsealable) as exc:
        talk.error, talk.refused = str(exc), True
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        talk.error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    talk.duration_ms = int((time.monotonic() - started) * 1000)
    return talk


def _record(delivery_pk: int, c: _Claim, talk: _Talk) -> tuple[str, float | None]:
    with transaction.atomic():
        d = Delivery.objects.select_for_update().get(pk=delivery_pk)
        if d.status != Delivery.Status.PENDING:
            return "done", None
        Attempt.objects.create(
            delivery=d,
            number=c.attempt,
            at=timezone.now(),
            status_code=talk.status_code,
            error=talk.error[:MAX_ERROR],
            response_excerpt=talk.excerpt,
            address=talk.address[:64],
            duration_ms=talk.duration_ms,
        )
        d.last_status_code, d.response_excerpt = talk.status_code, talk.excerpt
        d.last_error = talk.error[:MAX_ERROR]
        if talk.ok:
            _finish(d, Delivery.Status.SUCCEEDED)
            return "succeeded", None
        if talk.refused or d.attempts >= settings.OUTBOUND_MAX_ATTEMPTS:
            _finish(d, Delivery.Status.FAILED, error=d.last_error)
            return "failed", None
        delay = backoff(d.attempts)
        d.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        d.save(update_fields=["last_status_code", "response_excerpt", "last_error", "next_attempt_at"])
        _audit(d, "delivery.retrying", retry_in=delay)
        return "retry", delay


def _finish(d: Delivery, status: str, *, error: str = "") -> None:
    d.status, d.finished_at = status, timezone.now()
    d.last_error = error[:MAX_ERROR]
    d.save(
        update_fields=[
            "status",
            "finished_at",
            "last_status_code",
            "response_excerpt",
            "last_error",
            "attempts",
        ]
    )
    _audit(d, f"delivery.{status}")


def _audit(d: Delivery, action: str, **extra: object) -> None:
    audit.record(
        actor="system",
        action=action,
        object_type="delivery",
        object_id=d.delivery_id,
        data={
            "subscription": d.subscription_id,
            "event": d.event,
            "audit_seq": d.audit_seq,
            "attempts": d.attempts,
            "status_code": d.last_status_code,
            "error": d.last_error,
            **extra,
        },
    )
