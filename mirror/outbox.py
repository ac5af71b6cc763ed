"""The mirror's outbox: writes to MLflow that are not promotions (first kind: a model-version tag, such as
`semver` or `package.<format>.sha256`), queued in the caller's transaction and applied by a worker until done.

The ideas of the promotion outbox (approvals.workflow.outbox), for writes that decide nothing:
- `enqueue` writes a row (and an audit event) inside the caller's transaction, and the task is sent only once
  that commits: a rolled-back decision writes nothing to MLflow, a committed one is never lost.
- `apply` runs in three steps and never holds a row lock across the network: claim the row (a lease, so a
  second worker or the sweep leaves it alone meanwhile), talk to MLflow ("set to X", read back to confirm:
  idempotent), record the outcome (applied, or a retry with backoff).
- A worker, Redis or MLflow dying mid-way leaves a pending row: the beat sweep re-sends it once its lease or
  backoff ended, and the apply finds MLflow already holding the value when the write did land.
- Every state change is the row and an audit event (`mlflow_write.*`, object type `mlflow_write`).

Outcomes: `applied`; `superseded` (a newer value for the same tag was queued first); `gone` (MLflow no longer
has the version); `failed` (MLflow refused the write: retrying would not help). While MLflow is unreachable
the row stays pending and is retried after 2^attempts seconds, at most OUTBOX_MAX_BACKOFF_SECONDS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import record
from common.errors import MlflowNotFound, MlflowRejected, MlflowUnavailable
from common.queue import send, send_on_commit
from mirror import gateway
from mirror.models import MlflowWrite

APPLY_TASK = "registry_ui.tasks.apply_mlflow_write_task"
OBJECT_TYPE = "mlflow_write"


def is_app_tag(key: str) -> bool:
    """Tags this app writes to MLflow itself (derived facts, not anyone's statement about the version): what a
    signature binds of a version leaves them out, so writing them never unbinds a signature."""
    return key == "semver" or key.startswith("package.")


def _audit(item: MlflowWrite, action: str, actor: str | None = None, **extra: object) -> None:
    data = {"kind": item.kind, "model": item.model_name, "version": item.version, "key": item.key}
    data["value"] = item.value
    data.update(extra)
    record(
        actor=actor or "system",
        action=f"mlflow_write.{action}",
        object_type=OBJECT_TYPE,
        object_id=str(item.pk),
        data=data,
    )


def _backoff(attempts: int) -> float:
    return float(min(2**attempts, settings.OUTBOX_MAX_BACKOFF_SECONDS))


# --- enqueue (in the caller's transaction) ------------------------------------------------------------------
def enqueue_version_tag(
    *, model_name: str, version: int, key: str, value: str, actor: str = ""
) -> MlflowWrite:
    """Queue "set tag `key` = `value` on the version" in the current transaction; its apply is sent on commit.
    The same value already pending or applied is that row (nothing new); a different pending value is
    superseded by this one."""
    value = str(value)
    with transaction.atomic():
        latest = (
            MlflowWrite.objects.select_for_update()
            .filter(kind=MlflowWrite.Kind.VERSION_TAG, model_name=model_name, version=version, key=key)
            .filter(outcome__in=["", MlflowWrite.Outcome.APPLIED])
            .order_by("-id")
            .first()
        )
        if latest is not None and latest.value == value:
            return latest
        if latest is not None and latest.done_at is None:
            latest.done_at, latest.outcome = timezone.now(), MlflowWrite.Outcome.SUPERSEDED
            latest.save(update_fields=["done_at", "outcome"])
            _audit(latest, "superseded", actor=actor)
        item, created = _create(model_name=model_name, version=version, key=key, value=value, actor=actor)
        if created:
            _audit(item, "queued", actor=actor)
            pk = item.pk
            send_on_commit(APPLY_TASK, pk)  # a broker that is down: the sweep sends it
        return item


def _create(*, model_name: str, version: int, key: str, value: str, actor: str) -> tuple[MlflowWrite, bool]:
    """The new pending row, or (False) the one a concurrent enqueue created first (the unique constraint)."""
    fields = {"kind": MlflowWrite.Kind.VERSION_TAG, "model_name": model_name, "version": version, "key": key}
    try:
        with transaction.atomic():
            row = MlflowWrite.objects.create(
                **fields, value=value, requested_by=(actor or "")[:150], next_attempt_at=timezone.now()
            )
            return row, True
    except IntegrityError:
        return MlflowWrite.objects.get(**fields, done_at__isnull=True), False


# --- apply (the worker) -------------------------------------------------------------------------------------
@dataclass
class _Talk:
    """What step 2 found: an error (None: confirmed), and how final it is."""

    error: str | None = None
    outcome: str | None = None  # gone | failed: done without applying; None: applied, or retry on error
    wrote: bool = False


def apply(*, write_id: int, now: datetime | None = None) -> tuple[str, float | None]:
    """Apply one queued write to MLflow. Returns (outcome, retry_in_seconds): outcome is one of
    applied | done | skipped | retry | gone | failed."""
    claimed = _claim(write_id, now or timezone.now())
    if isinstance(claimed, str):
        return claimed, None
    return _record(write_id, _talk(claimed), attempts=claimed.attempts)


def _claim(write_id: int, now: datetime) -> MlflowWrite | str:
    """Step 1: lease the row so nobody else takes it meanwhile; the outcome when there is nothing to do now."""
    with transaction.atomic():
        item = MlflowWrite.objects.select_for_update(skip_locked=True).filter(pk=write_id).first()
        if item is None:
            return "skipped"  # another worker holds it right now (or it never existed)
        if item.done_at is not None:
            return "done"
        if item.next_attempt_at > now + timedelta(seconds=0.5):
            return "skipped"  # leased or backing off; its own retry or the sweep will come back
        item.attempts += 1
        item.next_attempt_at = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        item.save(update_fields=["attempts", "next_attempt_at"])
        return item


def _talk(item: MlflowWrite) -> _Talk:
    """Step 2: set the tag in MLflow unless it already holds the value, then read it back."""
    talk = _Talk()
    try:
        if gateway.get_version_tags(item.model_name, item.version).get(item.key) != item.value:
            gateway.set_version_tag(item.model_name, item.version, item.key, item.value)
            talk.wrote = True
        confirmed = gateway.get_version_tags(item.model_name, item.version).get(item.key)
        if confirmed != item.value:
            talk.error = f"MLflow shows {confirmed!r} after setting {item.value!r}; retrying."
    except MlflowUnavailable as exc:
        talk.error = f"MLflow unavailable: {exc}"
    except MlflowNotFound as exc:
        talk.error, talk.outcome = f"MLflow no longer has the version: {exc}", MlflowWrite.Outcome.GONE
    except MlflowRejected as exc:
        talk.error, talk.outcome = f"MLflow refused the write: {exc}", MlflowWrite.Outcome.FAILED
    return talk


def _record(write_id: int, talk: _Talk, *, attempts: int) -> tuple[str, float | None]:
    """Step 3: the outcome under the row lock: applied, gone or failed (done), or a retry with backoff."""
    with transaction.atomic():
        item = MlflowWrite.objects.select_for_update().get(pk=write_id)
        if item.done_at is not None:
            return "done", None  # superseded meanwhile
        now = timezone.now()
        if talk.error is None or talk.outcome is not None:
            item.done_at = now
            item.outcome = talk.outcome or MlflowWrite.Outcome.APPLIED
            item.last_error = (talk.error or "")[:4000]
            item.save(update_fields=["done_at", "outcome", "last_error"])
            _audit(item, item.outcome, attempts=attempts, wrote=talk.wrote, error=item.last_error)
            return item.outcome, None
        delay = _backoff(attempts)
        item.last_error = talk.error[:4000]
        item.next_attempt_at = now + timedelta(seconds=delay)
        item.save(update_fields=["last_error", "next_attempt_at"])
        if attempts == 1 or attempts % 10 == 0:
            _audit(item, "retrying", attempts=attempts, retry_in=delay, error=item.last_error)
        return "retry", delay


def pending(now: datetime, limit: int = 100) -> list[int]:
    """Pending writes due now (a lease or backoff that ended, or a task message that was lost)."""
    return list(
        MlflowWrite.objects.filter(done_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def sweep(*, limit: int = 100) -> list[int]:
    """Beat: re-send the due pending writes."""
    ids = pending(timezone.now(), limit=limit)
    for pk in ids:
        send(APPLY_TASK, pk)
    return ids
