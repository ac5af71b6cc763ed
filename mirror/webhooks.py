"""MLflow webhook receiver: verify, record the delivery, enqueue a targeted sync — nothing more.

Checked in this order (API.md): signature (401), timestamp skew (400), body (400). A repeated delivery id
is accepted once and ignored after; an id counts as seen only once its delivery was stored. Events the
app does not use (prompts, budgets) are recorded and ignored.
"""

from __future__ import annotations

from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from common import safejson, webhook_signing
from common.webhook_signing import MLFLOW, SignatureError
from mirror.models import SyncRun, WebhookDelivery
from mirror.sync import start_sync

REGISTRY_ENTITIES = {"registered_model", "model_version", "model_version_tag", "model_version_alias"}


def _error(status: int, detail: str) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Signature realm="mlflow-webhook"'
    return response


@csrf_exempt  # authenticated by the HMAC signature, not a session
@require_POST
def mlflow_webhook(request: HttpRequest) -> JsonResponse:
    body = request.body
    try:  # the one verifier of the scheme, shared with the events this app sends (common.webhook_signing)
        verified = webhook_signing.verify(
            MLFLOW,
            request.headers,
            body,
            secret=settings.MLFLOW_WEBHOOK_SECRET,
            max_skew_seconds=settings.MLFLOW_WEBHOOK_MAX_SKEW_SECONDS,
        )
    except SignatureError as exc:
        return _error(exc.status, exc.detail)
    delivery_id, sent = verified.delivery_id, verified.timestamp
    try:
        payload = safejson.loads(body)  # bounded depth: deep nesting is a 400, not a RecursionError
    except (ValueError, UnicodeDecodeError):
        return _error(400, "Body is not valid JSON.")
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("entity"), str)
        or not isinstance(payload.get("action"), str)
    ):
        return _error(400, "Body must be a JSON object with string 'entity' and 'action'.")
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    entity, action = payload["entity"][:64], payload["action"][:64]
    model_name = data.get("name") if isinstance(data.get("name"), str) else ""
    if entity in REGISTRY_ENTITIES and not model_name:
        return _error(400, f"A {entity} event must name its model in data.name.")

    if WebhookDelivery.objects.filter(delivery_id=delivery_id).exists():
        return JsonResponse({"status": "duplicate", "delivery_id": delivery_id})
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                delivery_id=delivery_id,
                sent_at=_from_unix(sent),
                entity=entity,
                action=action,
                payload=payload,
                outcome=WebhookDelivery.Outcome.IGNORED,
            )
            if entity in REGISTRY_ENTITIES:
                version = _int_or_none(data.get("version"))
                delivery.sync_run = start_sync(
                    kind=SyncRun.Kind.WEBHOOK,
                    model_name=model_name[:256],
                    version=version,
                    requested_by="mlflow",
                )
                delivery.outcome = WebhookDelivery.Outcome.ACCEPTED
                delivery.save(update_fields=["sync_run", "outcome"])
    except (IntegrityError, DataError):
        # Seen means stored: a row the database refused (NaN, Infinity or \u0000 in the JSON) leaves the id
        # unseen, so the sender's retry of a good body is processed instead of being called a duplicate.
        if WebhookDelivery.objects.filter(delivery_id=delivery_id).exists():  # raced in on another request
            return JsonResponse({"status": "duplicate", "delivery_id": delivery_id})
        return _error(400, "Body holds values the store cannot keep (NaN, Infinity or \\u0000).")
    return JsonResponse({"status": delivery.outcome, "delivery_id": delivery_id})


def _from_unix(seconds: int):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, tz=UTC)


MAX_VERSION = 2**31 - 1  # SyncRun.version's range (PositiveIntegerField); past it SQLite overflowed (a 500)


def _int_or_none(value):
    """A version number the event names, or None (then the whole model is synced) when it names none a
    column can hold."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 1 <= number <= MAX_VERSION else None
