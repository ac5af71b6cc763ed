"""Writes of the promotion workflow: request, gates, signatures, cancel, rollback, the outbox apply and drift.

Every function is keyword-only, atomic and raises `common.errors` domain exceptions; every state change
appends an audit event in the same transaction. The row lock (`select_for_update`) on the promotion serialises
concurrent signers, so a quorum produces exactly one `approved` transition and one outbox row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from approvals import signing
from approvals.models import Approval, DriftRecord, GateResult, OutboxItem, Promotion, TargetHolding
from common.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    MlflowNotFound,
    MlflowRejected,
    MlflowUnavailable,
    NotAllowed,
    NotFound,
)
from mirror import gateway
from mirror.models import ModelVersion, RegisteredModel

log = logging.getLogger(__name__)

REQUESTER_GROUPS = {"ml-engineers", "reviewers"}
APPLY_LEASE = timedelta(seconds=60)  # a claimed outbox item is not picked again before this
MAX_BACKOFF_SECONDS = 60
S = Promotion.State


# --- helpers --------------------------------------------------------------------------------------
def _audit(
    *,
    actor,
    action: str,
    promotion: Promotion | None = None,
    object_type: str = "promotion",
    object_id=None,
    data: dict | None = None,
) -> None:
    from audit.services import record

    if promotion is not None:
        object_id = promotion.pk
        base = {
            "model": promotion.model.name,
            "version": promotion.version.version,
            "target": promotion.target,
            "kind": promotion.kind,
            "state": promotion.state,
        }
        data = {**base, **(data or {})}
    record(
        actor=_actor_name(actor), action=action, object_type=object_type, object_id=str(object_id), data=data
    )


def _actor_name(actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return actor.get_username()


def _policy():
    from approvals.policy import get_policy  # noqa: PLC0415

    return get_policy()


def _pin_mirror_rows(model_id: int, version_id: int | None = None) -> None:
    """Take now the row locks PostgreSQL's deferred foreign-key checks would take at COMMIT (FOR KEY SHARE on
    the model and version rows), i.e. before the audit chain's advisory lock: the same order as the sync and
    the cards feature (row lock, then audit), so the two can never deadlock."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {RegisteredModel._meta.db_table} WHERE id = %s FOR KEY SHARE", [model_id]
        )
        if version_id is not None:
            cursor.execute(
                f"SELECT 1 FROM {ModelVersion._meta.db_table} WHERE id = %s FOR KEY SHARE", [version_id]
            )


def _lock(promotion_id: int) -> Promotion:
    p = Promotion.objects.select_for_update().filter(pk=promotion_id).first()
    if p is None:
        raise NotFound(f"No promotion #{promotion_id}.")
    _pin_mirror_rows(p.model_id, p.version_id)
    # select_related would lock the joined rows too; load the small related rows separately.
    p.model = RegisteredModel.objects.get(pk=p.model_id)
    p.version = ModelVersion.objects.select_related("source_run").get(pk=p.version_id)
    return p


def _set_state(p: Promotion, state: str, *, actor, action: str, data: dict | None = None, **fields) -> None:
    previous = p.state
    p.state = state
    for key, value in fields.items():
        setattr(p, key, value)
    p.save(update_fields=["state", "updated_at", *fields.keys()])
    _audit(actor=actor, action=action, promotion=p, data={"from": previous, "to": state, **(data or {})})


def mirror_holder(model: RegisteredModel, mlflow_target: dict) -> int | None:
    """The version holding an alias or stage in the mirror (the highest one for a stage)."""
    if "alias" in mlflow_target:
        value = (model.aliases or {}).get(mlflow_target["alias"])
        return int(value) if value is not None else None
    stage = mlflow_target.get("stage")
    return (
        ModelVersion.objects.live()
        .filter(model=model, stage=stage)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )


def card_status(mv) -> dict:
    try:
        from cards.selectors import card_status as _card_status  # noqa: PLC0415
    except ImportError:
        return {"revision": None, "score": None, "missing": [], "content_hash": None}
    return _card_status(mv)


def _canonical_hash(value) -> str:
    # Through JSON and back first, so a value read from a JSON column and the same value fresh from Python
    # (tuples, float formatting) hash alike.
    normal = json.loads(json.dumps(value, default=str))
    canonical = json.dumps(normal, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _gates_hash(p: Promotion, rows=None) -> str:
    """The hash of the gate results: the stored ones, or `rows` (fresh, unsaved GateResult objects)."""
    if rows is None:
        rows = GateResult.objects.filter(promotion=p).order_by("position")
    return _canonical_hash(
        [
            {
                "name": g.name,
                "status": g.status,
                "observed": g.observed,
                "expected": g.expected,
                "detail": g.detail,
            }
            for g in rows
        ]
    )


def version_hash(mv) -> str:
    """What a signature binds of the model version: its identity, artifacts and the mirror fields gates read."""
    return _canonical_hash(
        {
            "model": mv.model.name,
            "version": mv.version,
            "content_hash": mv.content_hash,
            "source": mv.source,
            "run_id": mv.run_id,
            "status": mv.status,
            "tags": mv.tags or {},
            "signature": mv.signature,
        }
    )


def card_hash(card: dict) -> str:
    return _canonical_hash({"card_content_hash": card.get("content_hash")})


def _backoff(attempts: int) -> float:
    return float(min(2**attempts, MAX_BACKOFF_SECONDS))


def _enqueue_gates(p: Promotion) -> None:
    from approvals.tasks import run_gates_task  # noqa: PLC0415

    run_gates_task.delay_on_commit(p.pk)


def _enqueue_apply(item: OutboxItem, countdown: float | None = None) -> None:
    from approvals.tasks import apply_outbox_task  # noqa: PLC0415

    pk = item.pk
    if countdown:
        transaction.on_commit(lambda: apply_outbox_task.apply_async((pk,), countdown=countdown))
    else:
        apply_outbox_task.delay_on_commit(pk)


def _notify(fn_name: str, promotion_id: int) -> None:
    from approvals import notifications  # noqa: PLC0415

    fn = getattr(notifications, fn_name)
    transaction.on_commit(lambda: _safe(fn, promotion_id))


def _safe(fn, *args) -> None:
    try:
        fn(*args)
    except Exception:  # mail trouble must never undo or fail a decision already committed
        log.exception("notification %s failed", fn)


# --- eligibility (segregation of duties) ------------------------------------------------------------
def sod_conflict_reason(p: Promotion, user) -> str | None:
    """Why this user may not sign this promotion whatever their groups, or None."""
    username = user.get_username()
    if p.requested_by_id == user.pk:
        return "You requested this promotion; someone else must sign it."
    # Identities MLflow fixed at creation (version and run user_id, mlflow.user as first seen), never the
    # tags as they are now: re-tagging a run in MLflow must not make its author eligible.
    if username.strip().casefold() in {author.casefold() for author in p.version.authors}:
        return (
            "You created or trained this model version in MLflow (its user_id, its source run's user_id or "
            "first-seen mlflow.user); someone else must sign it."
        )
    return None


def eligibility_problem(p: Promotion, user) -> str | None:
    if not user.is_authenticated or not user.is_active:
        return "Log in to sign."
    conflict = sod_conflict_reason(p, user)
    if conflict:
        return conflict
    groups = set(user.groups.values_list("name", flat=True))
    if not groups & set(p.approver_groups or []):
        return f"Only members of {', '.join(p.approver_groups)} may sign a promotion to {p.target}."
    return None


# --- request ----------------------------------------------------------------------------------------
def _may_request(user) -> bool:
    if user.is_staff:
        return True
    return bool(REQUESTER_GROUPS & set(user.groups.values_list("name", flat=True)))


def promotion_request(
    *,
    user,
    model_name: str,
    version,
    target: str,
    justification: str = "",
    kind: str = Promotion.Kind.PROMOTE,
) -> Promotion:
    if not _may_request(user):
        raise NotAllowed("Only ml-engineers, reviewers or staff may request promotions.")
    model = RegisteredModel.objects.live().filter(name=model_name or "").first()
    if model is None:
        raise InvalidInput(f"Unknown model {model_name!r}.", model=["Unknown model."])
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{version!r} is not a version number.", version=["Not a version number."]
        ) from None
    mv = ModelVersion.objects.live().filter(model=model, version=number).first()
    if mv is None:
        raise InvalidInput(f"Model {model_name!r} has no version {number}.", version=["Unknown version."])
    spec = _policy().target(model.name, target or "")
    if spec is None:
        raise InvalidInput(f"Unknown target {target!r} for model {model_name!r}.", target=["Unknown target."])
    justification = (justification or "").replace("\r\n", "\n").strip()  # a browser's textarea sends CRLF
    if len(justification) > 10_000:
        raise InvalidInput("The justification is too long (10,000 characters at most).")
    mlflow_target = spec.mlflow()
    required = spec.rollback_approvals if kind == Promotion.Kind.ROLLBACK else spec.approvals_required
    try:
        with transaction.atomic():
            _pin_mirror_rows(model.pk, mv.pk)
            _refuse_open_duplicate(model, mv, spec.name)
            if mirror_holder(model, mlflow_target) == number:
                raise _already_holds(model, spec.name, number)
            now = timezone.now()
            p = Promotion.objects.create(
                kind=kind,
                model=model,
                version=mv,
                target=spec.name,
                mlflow_target=mlflow_target,
                state=S.CHECKING,
                justification=justification,
                requested_by=user,
                requested_at=now,
                checking_since=now,
                previous_version=mirror_holder(model, mlflow_target),
                required_approvals=required,
                approver_groups=list(spec.approver_groups),
                gate_specs=[g.as_dict() for g in spec.gates],
            )
            GateResult.objects.bulk_create(
                GateResult(promotion=p, position=i, name=g.type, params=dict(g.params))
                for i, g in enumerate(spec.gates)
            )
            _audit(
                actor=user,
                action="promotion.requested" if kind == Promotion.Kind.PROMOTE else "rollback.requested",
                promotion=p,
                data={
                    "justification": justification,
                    "previous_version": p.previous_version,
                    "required_approvals": required,
                    "approver_groups": p.approver_groups,
                    "mlflow": mlflow_target,
                },
            )
            _enqueue_gates(p)
    except IntegrityError:
        # Two identical requests at the same moment: the partial unique index lets one through.
        _refuse_open_duplicate(model, mv, spec.name)
        raise Conflict(
            f"An open promotion of {model.name} v{number} to {spec.name} already exists."
        ) from None
    return p


def _refuse_open_duplicate(model, mv, target: str) -> None:
    """409 naming (and linking) the open promotion of the same model, version and target, if there is one."""
    other = (
        Promotion.objects.filter(model=model, version=mv, target=target, state__in=Promotion.OPEN_STATES)
        .values_list("pk", "state")
        .first()
    )
    if other is not None:
        raise Conflict(
            f"An open promotion of {model.name} v{mv.version} to {target} already exists "
            f"(#{other[0]}, {other[1].replace('_', ' ')}).",
            promotion_id=other[0],
        )


def _already_holds(model, target: str, version: int, *, doing: str = "promoting it again") -> Conflict:
    """A promotion (or rollback) to the version that already holds the target would change nothing: say who
    holds it."""
    holding = (
        TargetHolding.objects.filter(model=model, target=target, held_to__isnull=True, version=version)
        .values("held_from", "source", "promotion_id")
        .first()
    )
    extra: dict = {"holder_version": version, "source": None, "held_since": None, "promotion_id": None}
    how = "set in MLflow"
    if holding is not None:
        extra.update(
            source=holding["source"],
            held_since=holding["held_from"].isoformat(),
            promotion_id=holding["promotion_id"],
        )
        since = f" since {holding['held_from']:%Y-%m-%d %H:%M} UTC"
        if holding["promotion_id"]:
            how = f"promotion #{holding['promotion_id']}{since}"
        elif holding["source"] == TargetHolding.Source.DRIFT:
            how = f"moved in MLflow outside this app (drift){since}"
        else:
            how = f"observed in MLflow{since}"
    return Conflict(
        f"v{version} already holds {target} ({how}); {doing} would change nothing. "
        "To put a holder set outside this app under governance, staff can adopt it on the model's history page.",
        **extra,
    )


def rollback_default_version(
    model: RegisteredModel, target: str, mlflow_target: dict
) -> tuple[int | None, int | None]:
    """(current holder, the version that held the target before it)."""
    current = mirror_holder(model, mlflow_target)
    holdings = TargetHolding.objects.filter(model=model, target=target).order_by("-held_from", "-id")
    open_holding = holdings.filter(held_to__isnull=True).first()
    if current is None and open_holding is not None:
        current = open_holding.version
    for h in holdings[:200]:
        if h.version != current:
            return current, h.version
    last = (
        Promotion.objects.filter(model=model, target=target, state=S.APPLIED, previous_version__isnull=False)
        .exclude(previous_version=current)
        .order_by("-applied_at")
        .first()
    )
    return current, (last.previous_version if last else None)


def rollback_request(
    *, user, model_name: str, target: str, to_version=None, justification: str = ""
) -> Promotion:
    model = RegisteredModel.objects.live().filter(name=model_name or "").first()
    if model is None:
        raise InvalidInput(f"Unknown model {model_name!r}.", model=["Unknown model."])
    spec = _policy().target(model.name, target or "")
    if spec is None:
        raise InvalidInput(f"Unknown target {target!r} for model {model_name!r}.", target=["Unknown target."])
    current, default = rollback_default_version(model, spec.name, spec.mlflow())
    if to_version in (None, ""):
        if default is None:
            raise InvalidInput(
                f"Nothing held {spec.name} before v{current}; name the version to roll back to.",
                to_version=["No earlier holder."],
            )
        to_version = default
    try:
        to_version = int(to_version)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{to_version!r} is not a version number.", to_version=["Not a version number."]
        ) from None
    if current is not None and to_version == current:
        raise _already_holds(model, spec.name, to_version, doing="rolling back to it")
    return promotion_request(
        user=user,
        model_name=model.name,
        version=to_version,
        target=spec.name,
        justification=justification,
        kind=Promotion.Kind.ROLLBACK,
    )


# --- gates --------------------------------------------------------------------------------------------
def gate_input(p: Promotion):
    from approvals.gates import GateInput  # noqa: PLC0415

    mv = p.version
    model = p.model
    holder = mirror_holder(model, p.mlflow_target)
    holder_metrics = None
    if holder is not None:
        holder_mv = (
            ModelVersion.objects.select_related("source_run").filter(model=model, version=holder).first()
        )
        if holder_mv is not None and holder_mv.source_run is not None:
            holder_metrics = dict(holder_mv.source_run.metrics or {})
        elif holder_mv is not None:
            holder_metrics = {}
    card = card_status(mv)
    return GateInput(
        model_name=model.name,
        version=mv.version,
        version_status=mv.status,
        has_signature=(mv.signature is not None)
        if mv.artifacts_read_at or mv.signature is not None
        else None,
        version_tags=dict(mv.tags or {}),
        metrics=dict(mv.source_run.metrics or {}) if mv.source_run else {},
        model_tags=dict(model.tags or {}),
        holder_version=holder,
        holder_metrics=holder_metrics,
        card_score=card.get("score"),
        card_missing=tuple(card.get("missing") or ()),
        is_rollback=p.kind == Promotion.Kind.ROLLBACK,
    )


def _jsonable(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


def _read_missing_artifacts(promotion_id: int) -> None:
    """A gate run does not wait for the batch read when it can read the version's artifacts itself (through the
    gateway, outside any transaction). MLflow trouble is not fatal here: the gates then wait for the data."""
    row = (
        Promotion.objects.filter(pk=promotion_id, state=S.CHECKING, version__artifacts_read_at__isnull=True)
        .values_list("version_id", flat=True)
        .first()
    )
    if row is None:
        return
    from mirror.services import read_version_artifacts  # noqa: PLC0415

    try:
        read_version_artifacts(model_version_id=row)
    except (MlflowUnavailable, MlflowNotFound, MlflowRejected) as exc:
        log.info("promotion %s: the version's artifacts could not be read yet: %s", promotion_id, exc)


_DATA_WAIT_HINTS = {
    "signature_present": "MLflow may be unreachable or the artifacts unreadable. The gate fails rather than pass "
    "on trust; re-check once the version page shows its content hash.",
    "model_card_complete": "the card-drafting worker may be down or behind. The gate fails rather than pass on "
    "trust; open the version's model card (that drafts it), complete it and re-check.",
}


def _data_wait(p: Promotion, rows: list, now: datetime) -> float | None:
    """Seconds still to wait for gates whose data has not arrived, or None when the run decides now: no gate is
    pending, another gate already failed, or the bounded wait is over (then the pending gates fail, saying why)."""
    from django.conf import settings  # noqa: PLC0415

    pending = [r for r in rows if r.status == "pending"]
    if not pending or any(r.status not in ("passed", "skipped", "pending") for r in rows):
        return None
    limit = float(settings.GATE_DATA_WAIT_SECONDS)
    since = p.checking_since or p.requested_at
    left = limit - (now - since).total_seconds()
    if left > 0:
        for r in pending:
            r.detail = (
                f"{r.detail} Waiting since {since:%H:%M:%S} UTC; "
                f"the gate fails if the data has not arrived after {limit:.0f} s."
            )
        return left
    for r in pending:
        r.status = "failed"
        r.detail = (
            f"{r.detail} It still had not arrived {limit:.0f} s after the gates started (since {since:%H:%M:%S} "
            f"UTC): {_DATA_WAIT_HINTS.get(r.name, _DATA_WAIT_HINTS['signature_present'])}"
        )
    return None


def on_artifacts_read(*, version_ids, **_) -> None:
    """after_artifacts_read and after_card_drafted hook: the data a pending gate waited for arrived, so promotions
    of these versions still waiting in `checking` run their gates again."""
    for pk in Promotion.objects.filter(version_id__in=list(version_ids), state=S.CHECKING).values_list(
        "pk", flat=True
    )[:1000]:
        from approvals.tasks import run_gates_task  # noqa: PLC0415

        run_gates_task.delay_on_commit(pk)


def _gate_row(p: Promotion, position: int, g, status, observed, expected, detail, now) -> GateResult:
    """An unsaved GateResult of gate `g` (the `position`th of the promotion's gates), evaluated at `now`."""
    return GateResult(
        promotion=p,
        position=position,
        name=g.type,
        params=dict(g.params),
        status=status,
        observed=_jsonable(observed),
        expected=_jsonable(expected),
        detail=detail or "",
        evaluated_at=now,
    )


def run_gates(*, promotion_id: int) -> Promotion | None:
    """Evaluate the target's gates on the mirror; checking → awaiting_approval, or blocked when one fails.
    A gate whose input has not arrived yet is `pending`: the promotion stays `checking` (bounded by
    GATE_DATA_WAIT_SECONDS) and runs again when the version's artifacts are read, or at the end of the wait."""
    from approvals.gates import evaluate_gate  # noqa: PLC0415
    from approvals.policy import GateSpec  # noqa: PLC0415

    _read_missing_artifacts(promotion_id)
    with transaction.atomic():
        try:
            p = _lock(promotion_id)
        except NotFound:
            return None
        if p.state != S.CHECKING:
            return p
        spec = _policy().target(p.model.name, p.target)
        specs = (
            list(spec.gates)
            if spec
            else [GateSpec(type=g["type"], params=g.get("params") or {}) for g in p.gate_specs]
        )
        inp = gate_input(p)
        now = timezone.now()
        rows = []
        for i, g in enumerate(specs):
            try:
                outcome = evaluate_gate(g, inp)
                status, observed, expected, detail = (
                    outcome.status,
                    outcome.observed,
                    outcome.expected,
                    outcome.detail,
                )
            except Exception as exc:  # a gate bug is an `error` result, never a silent pass
                log.exception("gate %s failed on promotion %s", g.type, p.pk)
                status, observed, expected, detail = (
                    "error",
                    None,
                    None,
                    f"The gate could not be evaluated: {exc}",
                )
            rows.append(_gate_row(p, i, g, status, observed, expected, detail, now))
        # Already waiting in this round of checks (rows are created `pending` before any evaluation)?
        waiting_before = GateResult.objects.filter(
            promotion=p, status="pending", evaluated_at__gte=p.checking_since or p.requested_at
        ).exists()
        GateResult.objects.filter(promotion=p).delete()
        wait = _data_wait(p, rows, now)
        GateResult.objects.bulk_create(rows)
        p.gate_specs = [g.as_dict() for g in specs]
        p.save(update_fields=["gate_specs", "updated_at"])
        results = [
            {"name": r.name, "status": r.status, "observed": r.observed, "detail": r.detail} for r in rows
        ]
        _audit(
            actor=None,
            action="promotion.gates_evaluated",
            promotion=p,
            data={"gates": results, "holder_version": inp.holder_version},
        )
        if wait is not None:
            if not waiting_before:  # the first wait: come back at its end, whatever happens meanwhile
                _audit(
                    actor=None,
                    action="promotion.gates_waiting",
                    promotion=p,
                    data={"pending": [r.name for r in rows if r.status == "pending"], "wait_seconds": wait},
                )
                from approvals.tasks import run_gates_task  # noqa: PLC0415

                pk = p.pk
                transaction.on_commit(lambda: run_gates_task.apply_async((pk,), countdown=wait + 1))
            return p
        ok = all(r.status in ("passed", "skipped") for r in rows)
        if ok:
            _set_state(p, S.AWAITING_APPROVAL, actor=None, action="promotion.awaiting_approval")
            if _approve_count(p) >= p.required_approvals:
                _mark_approved(p, actor=None)
            else:
                _notify("awaiting_approval", p.pk)
        else:
            failed = [r.name for r in rows if r.status not in ("passed", "skipped")]
            _set_state(p, S.BLOCKED, actor=None, action="promotion.blocked", data={"failed_gates": failed})
            _notify("decided", p.pk)
    return p


def recheck(*, promotion_id: int, user) -> Promotion:
    with transaction.atomic():
        p = _lock(promotion_id)
        if not (user.is_staff or user.pk == p.requested_by_id or _may_request(user)):
            raise NotAllowed("Only the requester, ml-engineers, reviewers or staff may re-run the gates.")
        if p.state in (S.BLOCKED, S.AWAITING_APPROVAL):
            _set_state(
                p, S.CHECKING, actor=user, action="promotion.recheck_requested", checking_since=timezone.now()
            )
            _enqueue_gates(p)
        elif p.state == S.FAILED:
            item = OutboxItem.objects.filter(
                promotion=p, kind=OutboxItem.Kind.APPLY, done_at__isnull=True
            ).first()
            if item is None:
                raise Conflict("Nothing to retry.")
            item.next_attempt_at = timezone.now()
            item.save(update_fields=["next_attempt_at"])
            _audit(actor=user, action="promotion.apply_retry_requested", promotion=p)
            _enqueue_apply(item)
        else:
            raise Conflict(
                f"The promotion is {p.state}; only blocked, awaiting or failed ones can be re-checked."
            )
    return p


# --- signatures -------------------------------------------------------------------------------------
def _live_approvals(p: Promotion):
    """The approving signatures that count: superseded ones stay as records but count no more."""
    return Approval.objects.filter(
        promotion=p, decision=Approval.Decision.APPROVE, superseded_at__isnull=True
    )


def _approve_count(p: Promotion) -> int:
    return _live_approvals(p).count()


def _printed_name(user) -> str:
    full = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return full or user.get_username()


def _binding(p: Promotion, rows=None) -> tuple[dict, dict]:
    """The hashes a signature binds (version, card, gate results) on the current mirror, and the card status."""
    card = card_status(p.version)
    hashes = {
        "version_hash": version_hash(p.version),
        "card_hash": card_hash(card),
        "gates_hash": _gates_hash(p, rows),
    }
    return hashes, card


def _sign(p: Promotion, user, *, decision: str, meaning: str, comment: str, auth_method: str) -> Approval:
    bound, card = _binding(p)
    hashes = {
        **bound,
        "version_content_hash": p.version.content_hash,
        "card_revision": card.get("revision"),
        "card_content_hash": card.get("content_hash"),
        "gate_results_hash": bound["gates_hash"],  # the name signatures carried first
    }
    try:
        with transaction.atomic():
            return Approval.objects.create(
                promotion=p,
                reviewer=user,
                printed_name=_printed_name(user),
                decision=decision,
                meaning=meaning,
                comment=comment,
                signed_at=timezone.now(),
                signed_hashes=hashes,
                auth_method=auth_method,
            )
    except IntegrityError:
        raise Conflict("You have already signed this promotion.") from None


def _check_signable(p: Promotion, user, *, allowed_states) -> None:
    if p.state not in allowed_states:
        raise Conflict(f"The promotion is {p.state.replace('_', ' ')}, not awaiting approval.")
    if Approval.objects.filter(promotion=p, reviewer=user, superseded_at__isnull=True).exists():
        raise Conflict("You have already decided on this promotion.")
    problem = eligibility_problem(p, user)
    if problem:
        raise NotAllowed(problem)


def _read(promotion_id: int) -> Promotion:
    p = Promotion.objects.select_related("model", "version__source_run").filter(pk=promotion_id).first()
    if p is None:
        raise NotFound(f"No promotion #{promotion_id}.")
    return p


def _validate_signature_input(meaning: str | None, comment: str | None) -> tuple[str, str]:
    meaning = meaning or Approval.Meaning.APPROVAL
    if meaning not in Approval.Meaning.values:
        raise InvalidInput(
            f"meaning must be one of {', '.join(Approval.Meaning.values)}.", meaning=["Not a valid meaning."]
        )
    comment = (comment or "").strip()
    if len(comment) > 10_000:
        raise InvalidInput("The comment is too long (10,000 characters at most).")
    return meaning, comment


def _signature_data(a: Approval) -> dict:
    """What the audit chain records of one electronic signature."""
    return {
        "decision": a.decision,
        "printed_name": a.printed_name,
        "meaning": a.meaning,
        "comment": a.comment,
        "signed_at": a.signed_at.isoformat(),
        "signed_hashes": a.signed_hashes,
        "auth_method": a.auth_method,
    }


@contextmanager
def _signing_attempt(*, promotion_id: int, user, decision: str, client_ip: str | None):
    """A failed (wrong password) or refused signing attempt is an audit event (21 CFR 11.300(d)), committed on
    its own: the attempt's transaction has rolled back."""
    try:
        yield
    except NotFound:
        raise
    except DomainError as exc:
        failed = isinstance(exc, signing.WrongPassword)
        p = Promotion.objects.select_related("model", "version").filter(pk=promotion_id).first()
        with transaction.atomic():
            _audit(
                actor=user,
                action="signature.failed" if failed else "signature.refused",
                promotion=p,
                object_id=promotion_id,
                data={"decision": decision, "reason": str(exc), "status": exc.status, "client_ip": client_ip},
            )
        raise


@contextmanager
def _signed(
    promotion_id: int,
    user,
    *,
    decision: str,
    allowed_states,
    password: str | None,
    client_ip: str | None,
    meaning: str,
    comment: str,
):
    """Sign a decision: yields the locked promotion and the new signature, inside the transaction."""
    with _signing_attempt(promotion_id=promotion_id, user=user, decision=str(decision), client_ip=client_ip):
        # What does not depend on the password is refused first, so a wrong and a right password get the same
        # answer there; the password is checked outside the row lock (hashing takes a while).
        _check_signable(_read(promotion_id), user, allowed_states=allowed_states)
        auth_method = signing.reauthenticate(user, password, client_ip=client_ip)
        with transaction.atomic():
            p = _lock(promotion_id)
            _check_signable(p, user, allowed_states=allowed_states)
            a = _sign(
                p,
                user,
                decision=decision,
                meaning=meaning,
                comment=comment,
                auth_method=auth_method,
            )
            yield p, a


def approval_grant(
    *,
    promotion_id: int,
    user,
    password: str | None = None,
    meaning: str | None = None,
    comment: str | None = None,
    client_ip: str | None = None,
) -> Promotion:
    meaning, comment = _validate_signature_input(meaning, comment)
    with _signed(
        promotion_id,
        user,
        decision=Approval.Decision.APPROVE,
        allowed_states=(S.AWAITING_APPROVAL,),
        password=password,
        client_ip=client_ip,
        meaning=meaning,
        comment=comment,
    ) as (p, a):
        count = _approve_count(p)
        _audit(
            actor=user,
            action="promotion.signed",
            promotion=p,
            data={**_signature_data(a), "approvals": count, "required": p.required_approvals},
        )
        if count >= p.required_approvals:
            _mark_approved(p, actor=user)
    return p


def _gates_all_passed(p: Promotion) -> bool:
    statuses = list(GateResult.objects.filter(promotion=p).values_list("status", flat=True))
    return all(s in ("passed", "skipped") for s in statuses)


def _holder_metrics(model, version: int | None) -> dict | None:
    if version is None:
        return None
    mv = ModelVersion.objects.select_related("source_run").filter(model=model, version=version).first()
    if mv is None:
        return None
    return dict(mv.source_run.metrics or {}) if mv.source_run else {}


def _fresh_gate_rows(p: Promotion, *, at_apply: bool) -> list[GateResult]:
    """The promotion's gates (as evaluated for its signers) evaluated again on the current mirror; unsaved."""
    from approvals.gates import evaluate_gate  # noqa: PLC0415
    from approvals.policy import GateSpec  # noqa: PLC0415

    specs = [GateSpec(type=g["type"], params=g.get("params") or {}) for g in p.gate_specs]
    inp = gate_input(p)
    if at_apply and inp.holder_version == p.version.version:
        # A retried apply whose MLflow write the mirror already shows: the signers compared with the holder
        # this promotion replaces.
        inp = dataclasses.replace(
            inp,
            holder_version=p.previous_version,
            holder_metrics=_holder_metrics(p.model, p.previous_version),
        )
    now = timezone.now()
    rows = []
    for i, g in enumerate(specs):
        outcome = evaluate_gate(g, inp)  # never raises: a broken gate is an `error` outcome
        rows.append(
            _gate_row(p, i, g, outcome.status, outcome.observed, outcome.expected, outcome.detail, now)
        )
    return rows


BOUND_NAMES = {"version_hash": "model version", "card_hash": "model card", "gates_hash": "gate results"}


def _unbind_if_changed(p: Promotion, *, actor, at_apply: bool) -> str | None:
    """At the last signature and again in the outbox apply (the promotion row locked): evaluate the gates on
    the current mirror and compare what each counting signature signed with the current hashes. When a gate
    fails, or the signatures that still match fall short of the quorum, the signatures that no longer hold are
    superseded (kept as records, no longer counted), the promotion goes back to `blocked` or
    `awaiting_approval`, and the reason is returned. None: the signatures hold; go on."""
    rows = _fresh_gate_rows(p, at_apply=at_apply)
    current, _card = _binding(p, rows)
    failed = [r for r in rows if r.status not in ("passed", "skipped")]
    live = list(_live_approvals(p).select_related("reviewer"))
    changed = {a.pk: [k for k, v in current.items() if (a.signed_hashes or {}).get(k) != v] for a in live}
    stale = [a for a in live if changed[a.pk]]
    if not failed and not stale:
        return None
    when = "at the apply" if at_apply else "at the last signature"
    if failed:
        superseded = live
        reason = (
            f"{'Gates' if len(failed) > 1 else 'Gate'} {', '.join(r.name for r in failed)} failed on the current "
            f"mirror {when} ({' '.join(r.detail for r in failed)}). The signatures given so far no longer "
            "count: fix it, re-run the gates and sign again."
        )
    else:
        superseded = stale
        what = [BOUND_NAMES[k] for k in BOUND_NAMES if any(k in changed[a.pk] for a in stale)]
        reason = (
            f"The {' and '.join(what)} changed after {'it was' if len(stale) == 1 else 'they were'} signed "
            f"(seen {when}): {', '.join(a.reviewer.get_username() for a in stale)} must sign again."
        )
    if _gates_hash(p) != current["gates_hash"]:
        GateResult.objects.filter(promotion=p).delete()
        GateResult.objects.bulk_create(rows)
    now = timezone.now()
    Approval.objects.filter(pk__in=[a.pk for a in superseded]).update(
        superseded_at=now, superseded_reason=reason[:4000]
    )
    _audit(
        actor=actor,
        action="promotion.signatures_superseded",
        promotion=p,
        data={
            "reason": reason,
            "at": "apply" if at_apply else "signature",
            "failed_gates": [r.name for r in failed],
            "superseded": {a.reviewer.get_username(): changed[a.pk] for a in superseded},
            "current": current,
        },
    )
    if not failed and _approve_count(p) >= p.required_approvals:
        return None  # enough signatures still hold what is there now
    if failed:
        _set_state(
            p,
            S.BLOCKED,
            actor=actor,
            action="promotion.blocked",
            data={"failed_gates": [r.name for r in failed], "reason": reason},
        )
        _notify("decided", p.pk)
    else:
        if p.state != S.AWAITING_APPROVAL:
            _set_state(
                p,
                S.AWAITING_APPROVAL,
                actor=actor,
                action="promotion.awaiting_approval",
                data={"reason": reason},
            )
        _notify("awaiting_approval", p.pk)
    return reason


def _mark_approved(p: Promotion, *, actor) -> bool:
    """Quorum reached: the signatures are checked against the current mirror, then approved + the outbox row,
    in the caller's transaction (the promotion row is locked). False when the signatures no longer hold."""
    if _unbind_if_changed(p, actor=actor, at_apply=False):
        return False
    if not _gates_all_passed(p):  # defence in depth: awaiting_approval already implies it
        raise Conflict("A gate has not passed; the promotion cannot be approved.")
    now = timezone.now()
    _set_state(p, S.APPROVED, actor=actor, action="promotion.approved", decided_at=now)
    item = OutboxItem.objects.create(
        kind=OutboxItem.Kind.APPLY,
        promotion=p,
        model_name=p.model.name,
        target=p.target,
        mlflow_target=p.mlflow_target,
        version=p.version.version,
        next_attempt_at=now,
    )
    _audit(actor=actor, action="outbox.enqueued", promotion=p, data={"outbox_id": item.pk})
    _enqueue_apply(item)
    _notify("decided", p.pk)
    return True


def approval_reject(
    *,
    promotion_id: int,
    user,
    password: str | None = None,
    comment: str | None = None,
    meaning: str | None = None,
    client_ip: str | None = None,
) -> Promotion:
    meaning, comment = _validate_signature_input(meaning or Approval.Meaning.REVIEW, comment)
    states = (S.AWAITING_APPROVAL, S.BLOCKED, S.CHECKING)
    with _signed(
        promotion_id,
        user,
        decision=Approval.Decision.REJECT,
        allowed_states=states,
        password=password,
        client_ip=client_ip,
        meaning=meaning,
        comment=comment,
    ) as (p, a):
        _audit(
            actor=user,
            action="promotion.signed",
            promotion=p,
            data=_signature_data(a),
        )
        _set_state(
            p,
            S.REJECTED,
            actor=user,
            action="promotion.rejected",
            decided_at=timezone.now(),
            data={"comment": comment},
        )
        _notify("decided", p.pk)
    return p


def cancel(*, promotion_id: int, user, reason: str = "") -> Promotion:
    with transaction.atomic():
        p = _lock(promotion_id)
        if not (user.is_staff or user.pk == p.requested_by_id):
            raise NotAllowed("Only the requester or staff may cancel a promotion.")
        if p.state not in (S.CHECKING, S.AWAITING_APPROVAL, S.BLOCKED, S.APPROVED, S.FAILED):
            raise Conflict(f"The promotion is {p.state.replace('_', ' ')}; it can no longer be cancelled.")
        now = timezone.now()
        OutboxItem.objects.filter(promotion=p, done_at__isnull=True).update(done_at=now, outcome="cancelled")
        _set_state(
            p,
            S.CANCELLED,
            actor=user,
            action="promotion.cancelled",
            decided_at=now,
            data={"reason": (reason or "")[:2000]},
        )
        _notify("decided", p.pk)
    return p


# --- the outbox apply -----------------------------------------------------------------------------------
def _mlflow_holder(name: str, mlflow_target: dict, version: int) -> int | None:
    """Read MLflow: the version holding an alias, or for a stage whether `version` is in it."""
    if "alias" in mlflow_target:
        return gateway.get_model(name).aliases.get(mlflow_target["alias"])
    stage = gateway.get_version_stage(name, version)
    return version if stage == mlflow_target.get("stage") else None


def _write_mlflow(name: str, mlflow_target: dict, version: int) -> None:
    if "alias" in mlflow_target:
        gateway.set_alias(name, mlflow_target["alias"], version)
    else:
        gateway.transition_stage(name, version, mlflow_target["stage"], archive_existing=True)


def apply(*, outbox_id: int, now: datetime | None = None) -> tuple[str, float | None]:
    """Apply one outbox item to MLflow. Returns (outcome, retry_in_seconds): outcome is one of
    applied | done | skipped | retry | failed | invalidated. Idempotent: MLflow writes are "set to X", re-confirmed by a read."""
    now = now or timezone.now()
    # 1. claim the item (a lease so a second worker or the sweep does not take it at the same time)
    with transaction.atomic():
        item = OutboxItem.objects.select_for_update(skip_locked=True).filter(pk=outbox_id).first()
        if item is None:
            return "skipped", None  # another worker holds it right now
        if item.done_at is not None:
            return "done", None
        if item.next_attempt_at > now + timedelta(seconds=0.5):
            return "skipped", None  # leased or backing off; its own retry or the sweep will come back
        p = None
        if item.promotion_id:
            p = _lock(item.promotion_id)
            if p.state not in (S.APPROVED, S.APPLYING, S.FAILED):
                item.done_at, item.outcome = now, "superseded"
                item.save(update_fields=["done_at", "outcome"])
                return "done", None
            # The signatures bind what they signed: re-check it on the current mirror before touching MLflow.
            if _unbind_if_changed(p, actor=None, at_apply=True):
                item.done_at, item.outcome = now, "invalidated"
                item.save(update_fields=["done_at", "outcome"])
                return "invalidated", None
            if p.state != S.APPLYING:
                _set_state(
                    p, S.APPLYING, actor=None, action="promotion.applying", data={"outbox_id": item.pk}
                )
        item.attempts += 1
        item.next_attempt_at = now + APPLY_LEASE
        item.save(update_fields=["attempts", "next_attempt_at"])
        attempts = item.attempts
    # 2. talk to MLflow outside any transaction (no row lock held across the network)
    error = None
    rejected = False
    holder_before = None
    try:
        holder_before = _mlflow_holder(item.model_name, item.mlflow_target, item.version)
        if holder_before != item.version:
            _write_mlflow(item.model_name, item.mlflow_target, item.version)
        confirmed = _mlflow_holder(item.model_name, item.mlflow_target, item.version)
        if confirmed != item.version:
            error = f"MLflow shows v{confirmed} after setting v{item.version}; retrying."
    except MlflowUnavailable as exc:
        error = f"MLflow unavailable: {exc}"
    except (MlflowRejected, MlflowNotFound) as exc:
        error, rejected = f"MLflow refused the change: {exc}", True
    # 3. record the outcome
    with transaction.atomic():
        item = OutboxItem.objects.select_for_update().get(pk=outbox_id)
        p = _lock(item.promotion_id) if item.promotion_id else None
        if p is None:
            model_id = (
                RegisteredModel.objects.filter(name=item.model_name).values_list("pk", flat=True).first()
            )
            if model_id is not None:
                _pin_mirror_rows(model_id)
        if item.done_at is not None:
            return "done", None
        if error is None:
            _finish(item, p, holder_before=holder_before)
            return "applied", None
        delay = _backoff(attempts)
        item.last_error = error[:4000]
        item.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        item.save(update_fields=["last_error", "next_attempt_at"])
        if p is not None and rejected and p.state != S.FAILED:
            _set_state(
                p,
                S.FAILED,
                actor=None,
                action="promotion.apply_failed",
                error=error[:4000],
                data={"error": error, "attempts": attempts},
            )
            _notify("decided", p.pk)
        elif p is not None and not rejected:
            p.error = error[:4000]
            p.save(update_fields=["error", "updated_at"])
            if attempts == 1 or attempts % 10 == 0:
                _audit(
                    actor=None,
                    action="promotion.apply_retrying",
                    promotion=p,
                    data={"error": error, "attempts": attempts, "retry_in": delay},
                )
        elif item.drift_id:
            _audit(
                actor=None,
                action="drift.revert_retrying",
                object_type="drift",
                object_id=item.drift_id,
                data={"error": error, "attempts": attempts},
            )
        return ("failed" if rejected else "retry"), delay


def _finish(item: OutboxItem, p: Promotion | None, *, holder_before: int | None) -> None:
    now = timezone.now()
    item.done_at, item.outcome, item.last_error = now, "applied", ""
    item.save(update_fields=["done_at", "outcome", "last_error"])
    model = RegisteredModel.objects.filter(name=item.model_name).first()
    if model is not None:
        # A drift revert puts back the approved holder: the holding names the promotion that approved it.
        approved_by = p
        if p is None:
            baseline = _baseline(model, item.target)
            if baseline is not None and baseline[0] == item.version:
                approved_by = baseline[1]
        _move_holding(model, item.target, item.version, now, promotion=approved_by)
        # Bring the mirror up to date now rather than at the next webhook or reconcile.
        from mirror.sync import start_sync  # noqa: PLC0415

        start_sync(kind="webhook", model_name=model.name, requested_by="approvals")
    if p is not None:
        fields = {"applied_at": now, "error": ""}
        if holder_before is not None and holder_before != item.version:
            fields["previous_version"] = holder_before
        _set_state(
            p,
            S.APPLIED,
            actor=None,
            action="promotion.applied",
            data={"outbox_id": item.pk, "previous_version": holder_before, "attempts": item.attempts},
            **fields,
        )
        if model is not None:
            _resolve_drift(
                DriftRecord.objects.select_for_update().filter(
                    model=model, target=item.target, resolved_at__isnull=True
                ),
                now,
                reason=f"promotion #{p.pk} applied v{item.version}",
                version=item.version,
            )
        _notify("applied", p.pk)
    elif item.drift_id:
        DriftRecord.objects.filter(pk=item.drift_id, resolved_at__isnull=True).update(resolved_at=now)
        _audit(
            actor=None,
            action="drift.reverted",
            object_type="drift",
            object_id=item.drift_id,
            data={"model": item.model_name, "target": item.target, "version": item.version},
        )


def _move_holding(model, target: str, version: int | None, at, *, promotion=None, source=None) -> None:
    """Close the target's open holding and open one for `version` (None: nothing holds the target now).
    `source` defaults to `promotion` when a promotion put it there, else `observed`."""
    if source is None:
        source = TargetHolding.Source.PROMOTION if promotion is not None else TargetHolding.Source.OBSERVED
    current = (
        TargetHolding.objects.select_for_update()
        .filter(model=model, target=target, held_to__isnull=True)
        .first()
    )
    if current is not None:
        if current.version == version and (
            promotion is None or current.promotion_id == getattr(promotion, "pk", None)
        ):
            return
        current.held_to = at
        current.save(update_fields=["held_to"])
    if version is not None:
        TargetHolding.objects.create(
            model=model, target=target, version=version, held_from=at, promotion=promotion, source=source
        )


def sweep_outbox(*, limit: int = 100) -> list[int]:
    """Beat: re-enqueue due outbox items (retries of MLflow-down or refused applies; lost task messages)."""
    from approvals.selectors import pending_outbox  # noqa: PLC0415
    from approvals.tasks import apply_outbox_task  # noqa: PLC0415

    ids = pending_outbox(timezone.now(), limit=limit)
    for pk in ids:
        apply_outbox_task.delay(pk)
    return ids


# --- drift ------------------------------------------------------------------------------------------------
def _last_applied(model, target: str) -> Promotion | None:
    return (
        Promotion.objects.filter(model=model, target=target, state=S.APPLIED)
        .order_by("-applied_at", "-id")
        .first()
    )


def _baseline(model, target: str) -> tuple[int, Promotion | None] | None:
    """What MLflow should show for a governed target: the version of the last applied promotion, or of a later
    staff adoption (with None for the promotion). None when this app governs nothing there yet."""
    last = _last_applied(model, target)
    adopted = (
        TargetHolding.objects.filter(model=model, target=target, adopted_at__isnull=False)
        .order_by("-adopted_at", "-id")
        .first()
    )
    if adopted is not None and (
        last is None or last.applied_at is None or adopted.adopted_at > last.applied_at
    ):
        return adopted.version, None
    if last is None:
        return None
    return last.version.version, last


def _resolve_drift(records, now, *, reason: str, version: int | None) -> None:
    """Mark open drift records resolved, each on the audit chain (a resolution is a state change too)."""
    for r in records:
        r.resolved_at = now
        r.save(update_fields=["resolved_at"])
        _audit(
            actor=None,
            action="drift.resolved",
            object_type="drift",
            object_id=r.pk,
            data={
                "model": r.model.name,
                "target": r.target,
                "version": version,
                "mlflow_version": r.mlflow_version,
                "approved_version": r.approved_version,
                "reason": reason,
            },
        )


def _governed_targets(names) -> set[tuple[str, str]]:
    """(model name, target) pairs this app governs: an applied promotion or a staff adoption."""
    applied = set(
        Promotion.objects.filter(state=Promotion.State.APPLIED, model__name__in=names)
        .values_list("model__name", "target")
        .distinct()
    )
    adopted = set(
        TargetHolding.objects.filter(adopted_at__isnull=False, model__name__in=names)
        .values_list("model__name", "target")
        .distinct()
    )
    return applied | adopted


def check_drift(*, model_names, sync_run_id: int | None = None) -> list[DriftRecord]:
    """Compare each target's holder in the mirror with the last applied promotion; record what nothing explains."""
    created: list[DriftRecord] = []
    policy = _policy()
    names = list(model_names)
    # Only targets this app governs can drift; one query instead of a locking check per model × target.
    applied = _governed_targets(names)
    for model in RegisteredModel.objects.filter(name__in=names):
        for target in policy.targets_for(model.name).values():
            if (model.name, target.name) not in applied:
                continue
            record = _check_target(model, target, sync_run_id)
            if record is not None:
                created.append(record)
    return created


def _check_target(model, target, sync_run_id) -> DriftRecord | None:
    with transaction.atomic():
        RegisteredModel.objects.select_for_update().filter(pk=model.pk).first()  # serialise checks per model
        model.refresh_from_db()
        baseline = _baseline(model, target.name)
        if baseline is None:
            return None  # this app governs nothing there: nothing to compare with
        approved, last = baseline
        mlflow_target = target.mlflow()
        holder = mirror_holder(model, mlflow_target)
        now = timezone.now()
        open_records = list(
            DriftRecord.objects.select_for_update().filter(
                model=model, target=target.name, resolved_at__isnull=True
            )
        )
        if holder == approved:
            _resolve_drift(
                open_records, now, reason="MLflow matches the approved holder again", version=holder
            )
            if open_records:  # the approved version holds the target again
                _move_holding(model, target.name, holder, now, promotion=last)
            return None
        in_flight = Promotion.objects.filter(
            model=model,
            target=target.name,
            state__in=(S.APPROVED, S.APPLYING, S.FAILED),
            version__version=holder,
        ).exists()
        reverting = OutboxItem.objects.filter(
            model_name=model.name, target=target.name, kind=OutboxItem.Kind.REVERT, done_at__isnull=True
        ).exists()
        if in_flight:
            return None  # our own apply, seen by the sync before the worker marked it applied
        if any(r.mlflow_version == holder for r in open_records):
            return None  # already recorded
        # It moved again: the earlier record is superseded by this one.
        _resolve_drift(
            open_records, now, reason=f"superseded: MLflow moved again, to v{holder}", version=holder
        )
        record = DriftRecord.objects.create(
            model=model,
            target=target.name,
            mlflow_version=holder,
            approved_version=approved,
            detected_at=now,
            action=target.on_drift,
            sync_run_id=sync_run_id,
        )
        _move_holding(model, target.name, holder, now, source=TargetHolding.Source.DRIFT)
        _audit(
            actor=None,
            action="drift.detected",
            object_type="drift",
            object_id=record.pk,
            data={
                "model": model.name,
                "target": target.name,
                "mlflow": mlflow_target,
                "mlflow_version": holder,
                "approved_version": approved,
                "promotion_id": last.pk if last is not None else None,
                "on_drift": target.on_drift,
            },
        )
        if target.on_drift == "revert" and not reverting:
            item = OutboxItem.objects.create(
                kind=OutboxItem.Kind.REVERT,
                drift=record,
                model_name=model.name,
                target=target.name,
                mlflow_target=mlflow_target,
                version=approved,
                next_attempt_at=now,
            )
            _audit(
                actor=None,
                action="drift.revert_enqueued",
                object_type="drift",
                object_id=record.pk,
                data={"model": model.name, "target": target.name, "version": approved, "outbox_id": item.pk},
            )
            _enqueue_apply(item)
        return record


def on_sync(*, sync_run_id=None, result=None, **_) -> None:
    """after_sync hook: check drift on the models the sync touched (all models with applied promotions on a
    full or reconcile run, so a missed webhook is caught within one reconcile)."""
    names = set(getattr(result, "touched_models", None) or ())
    kind = None
    if sync_run_id is not None:
        from mirror.models import SyncRun  # noqa: PLC0415

        kind, model_name = SyncRun.objects.filter(pk=sync_run_id).values_list(
            "kind", "model_name"
        ).first() or (
            None,
            "",
        )
        if model_name:
            names.add(model_name)  # a targeted sync: check even when the mirror did not change
        if kind in (SyncRun.Kind.FULL, SyncRun.Kind.RECONCILE):
            names |= set(
                Promotion.objects.filter(state=S.APPLIED)
                .values_list("model__name", flat=True)
                .distinct()[:10_000]
            )
    if names:
        check_drift(model_names=sorted(names), sync_run_id=sync_run_id)
    from approvals.holdings import record_observed_holders  # noqa: PLC0415

    full = kind in ("full", "reconcile")
    record_observed_holders(model_names=None if full else sorted(names), sync_run_id=sync_run_id)
