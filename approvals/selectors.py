"""Reads for the promotion workflow, with a bounded number of queries whatever the data size."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils.dateparse import parse_date, parse_datetime

from approvals.eligibility import sod_conflict_reason
from approvals.models import Approval, DriftRecord, GateResult, OutboxItem, Promotion, TargetHolding
from audit import roles
from common.errors import InvalidInput

INBOX_CHUNK = 500  # promotions awaiting approval read per query by the inbox (all of them are read)
HISTORY_CHUNK = 1000  # target history rows read per query (all of them are read)
API_DRIFT_LIMIT = 1000  # drift records `GET /api/v1/drift/` answers, newest first (its schema says so)


def _iso(dt) -> str | None:
    return dt.isoformat() if dt else None


def promotions_qs() -> QuerySet[Promotion]:
    return Promotion.objects.select_related("model", "version", "requested_by").prefetch_related(
        Prefetch("gate_results", queryset=GateResult.objects.order_by("position")),
        Prefetch(
            "approvals", queryset=Approval.objects.select_related("reviewer").order_by("signed_at", "id")
        ),
    )


def promotion_detail(pk: int) -> Promotion | None:
    return promotions_qs().filter(pk=pk).first()


def gate_dict(g: GateResult) -> dict:
    return {
        "name": g.name,
        "status": g.status,
        "observed": g.observed,
        "expected": g.expected,
        "detail": g.detail,
        "evaluated_at": _iso(g.evaluated_at),
    }


def approval_dict(a: Approval, *, full: bool = True) -> dict:
    out = {
        "reviewer": a.reviewer.get_username(),
        "decision": a.decision,
        "meaning": a.meaning,
        "comment": a.comment,
        "signed_at": _iso(a.signed_at),
    }
    if full:
        hashes = dict(a.signed_hashes or {})
        out["printed_name"] = a.printed_name
        out["signed_hashes"] = hashes
        out["auth_method"] = a.auth_method
        out["version_hash"] = hashes.get("version_hash")
        out["card_hash"] = hashes.get("card_hash")
        out["gates_hash"] = hashes.get("gates_hash")
        out["counts"] = a.superseded_at is None
        out["superseded_at"] = _iso(a.superseded_at)
        out["superseded_reason"] = a.superseded_reason
    return out


def promotion_dict(p: Promotion) -> dict:
    """The API's promotion shape (API.md, "Promotions and rollbacks"), plus a few extra fields."""
    return {
        "id": p.pk,
        "kind": p.kind,
        "model": p.model.name,
        "version": p.version.version,
        "target": p.target,
        "mlflow": dict(p.mlflow_target or {}),
        "state": p.state,
        "justification": p.justification,
        "requested_by": p.requested_by.get_username(),
        "requested_at": _iso(p.requested_at),
        "previous_version": p.previous_version,
        "required_approvals": p.required_approvals,
        "approver_groups": list(p.approver_groups or []),
        "gates": [gate_dict(g) for g in p.gate_results.all()],
        "approvals": [approval_dict(a) for a in p.approvals.all()],
        "decided_at": _iso(p.decided_at),
        "applied_at": _iso(p.applied_at),
        "error": p.error,
    }


def signoffs_for_version(mv) -> list[dict]:
    """Every promotion of this version, newest first, with its signatures and gate results (for card exports)."""
    out = []
    for p in promotions_qs().filter(version=mv).order_by("-requested_at", "-id"):
        out.append(
            {
                "id": p.pk,
                "kind": p.kind,
                "target": p.target,
                "state": p.state,
                "requested_by": p.requested_by.get_username(),
                "requested_at": _iso(p.requested_at),
                "applied_at": _iso(p.applied_at),
                "approvals": [approval_dict(a) for a in p.approvals.all()],
                "gates": [gate_dict(g) for g in p.gate_results.all()],
            }
        )
    return out


# Where promotions_for_version keeps its answer on the version object: the version page's panel and its compact
# lineage graph read the same list once (a page's version object lives one request).
_PROMOTIONS_MEMO = "_promotions_of_version"


def promotions_for_version(mv) -> list[Promotion]:
    """Every promotion of this version, newest first (the version page lists them all), read once per version
    object."""
    found = getattr(mv, _PROMOTIONS_MEMO, None)
    if found is None:
        # What the panel and the graph show: requester and signatures (no gate results: one query fewer).
        signatures = Approval.objects.select_related("reviewer").order_by("signed_at", "id")
        found = list(
            Promotion.objects.filter(version=mv)
            .select_related("requested_by")
            .prefetch_related(Prefetch("approvals", queryset=signatures))
            .order_by("-requested_at", "-id")
        )
        for p in found:
            p.version, p.model = mv, mv.model  # the page's own rows, no second copy
        setattr(mv, _PROMOTIONS_MEMO, found)
    return list(found)


def awaiting_for(user) -> QuerySet[Promotion]:
    """What this user may still sign: awaiting approval, one of their groups counts, segregation of duties."""
    if not user.is_authenticated:
        return Promotion.objects.none()
    groups = roles.group_names(user)
    if not groups:
        return Promotion.objects.none()
    qs = (
        Promotion.objects.filter(state=Promotion.State.AWAITING_APPROVAL)
        .exclude(requested_by=user)
        .exclude(
            pk__in=Approval.objects.filter(reviewer=user, superseded_at__isnull=True).values("promotion")
        )
        .exclude(version__creator=user.get_username())
        .select_related("version__source_run")
        .order_by("-requested_at")
    )
    # Group lists and the version's other author identities (ModelVersion.authors: the run's user_id and
    # first-seen mlflow.user, compared ignoring case) are checked in Python, over every promotion awaiting
    # approval, read in chunks.
    ids = [
        p.pk
        for p in qs.iterator(chunk_size=INBOX_CHUNK)
        if roles.may_sign(groups, p.approver_groups or []) and sod_conflict_reason(p, user) is None
    ]
    return Promotion.objects.filter(pk__in=ids)


def filter_promotions(qs: QuerySet[Promotion], *, state=None, model=None, target=None, kind=None) -> QuerySet:
    if state:
        qs = qs.filter(state=state)
    if model:
        qs = qs.filter(model__name=model)
    if target:
        qs = qs.filter(target=target)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def holding_dict(h: TargetHolding) -> dict:
    return {
        "target": h.target,
        "version": h.version,
        "from": _iso(h.held_from),
        "to": _iso(h.held_to),
        "promotion_id": h.promotion_id,
        "source": h.source,
        "adopted_by": h.adopted_by.get_username() if h.adopted_by_id else None,
        "adopted_at": _iso(h.adopted_at),
    }


def history(model, target: str | None = None) -> list[dict]:
    qs = TargetHolding.objects.filter(model=model).select_related("adopted_by")
    if target:
        qs = qs.filter(target=target)
    return [holding_dict(h) for h in qs.order_by("held_from", "id").iterator(chunk_size=HISTORY_CHUNK)]


def history_at(model, target: str, at) -> dict | None:
    """The one entry holding the target at `at` (held_from <= at < held_to), or None when nothing held it."""
    h = (
        TargetHolding.objects.filter(model=model, target=target, held_from__lte=at)
        .filter(Q(held_to__isnull=True) | Q(held_to__gt=at))
        .select_related("adopted_by")
        .order_by("-held_from", "-id")
        .first()
    )
    return holding_dict(h) if h is not None else None


def parse_at(value: str):
    """An ISO-8601 time (a date alone means its midnight UTC; no offset means UTC); InvalidInput otherwise."""
    text = (value or "").strip().replace(" ", "+")  # an unencoded "+00:00" arrives as " 00:00"
    try:
        at = parse_datetime(text)
        if at is None:
            day = parse_date(text)
            at = datetime.combine(day, time()) if day is not None else None
    except ValueError:
        at = None
    if at is None:
        raise InvalidInput(f"{value!r} is not an ISO-8601 time.", at=["Not an ISO-8601 time."])
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def drift_dict(d: DriftRecord) -> dict:
    return {
        "id": d.pk,
        "model": d.model.name,
        "target": d.target,
        "mlflow_version": d.mlflow_version,
        "approved_version": d.approved_version,
        "detected_at": _iso(d.detected_at),
        "resolved_at": _iso(d.resolved_at),
        "action": d.action,
    }


def drift_qs(*, model=None, open_only: bool = False) -> QuerySet[DriftRecord]:
    """Drift records, newest first (of one model; only unresolved ones)."""
    qs = DriftRecord.objects.select_related("model")
    if model is not None:
        qs = qs.filter(model=model)
    if open_only:
        qs = qs.filter(resolved_at__isnull=True)
    return qs.order_by("-detected_at", "-id")


def drift_list(*, model=None, open_only: bool = False, limit: int = API_DRIFT_LIMIT) -> list[DriftRecord]:
    """The newest `limit` drift records (of one model; only unresolved ones)."""
    return list(drift_qs(model=model, open_only=open_only)[:limit])


def open_drift_for_model(model) -> list[DriftRecord]:
    """Every unresolved drift record of the model (at most one per target: a new one resolves the one before)."""
    return list(drift_qs(model=model, open_only=True))


def pending_outbox(now, limit: int = 100) -> list[int]:
    return list(
        OutboxItem.objects.filter(done_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def lost_gate_runs(now, *, quiet_seconds: float, wait_seconds: float, limit: int = 100) -> list[int]:
    """Promotions in `checking` whose gate run should have happened by now: no gate evaluated in this round of
    checks `quiet_seconds` after it began (the run's message or its worker was lost), or still checking
    `quiet_seconds` after the wait for data ended (the run at the end of the wait was lost)."""
    evaluated = GateResult.objects.filter(promotion=OuterRef("pk"), evaluated_at__gte=OuterRef("since"))
    return list(
        Promotion.objects.annotate(since=Coalesce("checking_since", "requested_at"))
        .filter(state=Promotion.State.CHECKING, since__lt=now - timedelta(seconds=quiet_seconds))
        .filter(~Exists(evaluated) | Q(since__lt=now - timedelta(seconds=quiet_seconds + wait_seconds)))
        .order_by("since")
        .values_list("pk", flat=True)[:limit]
    )


DASHBOARD_ROWS = 10  # open promotions on the dashboard (it links to all of them past this)
DASHBOARD_DRIFT = 20  # open drift banners on the dashboard (it links to the drift page past this)


def dashboard_summary(user) -> dict:
    """The dashboard panel: the inbox count, the newest open promotions and open drift, with their totals."""
    open_qs = Promotion.objects.filter(state__in=Promotion.OPEN_STATES)
    open_count = open_qs.count()
    drift = drift_qs(open_only=True)
    drift_count = drift.count()
    return {
        "inbox_count": awaiting_for(user).count() if user.is_authenticated else 0,
        "open_promotions": list(
            open_qs.select_related("model", "version", "requested_by").order_by("-requested_at")[
                :DASHBOARD_ROWS
            ]
        ),
        "open_count": open_count,
        "more_open": open_count > DASHBOARD_ROWS,
        "drift": list(drift[:DASHBOARD_DRIFT]) if drift_count else [],
        "drift_count": drift_count,
        "more_drift": drift_count > DASHBOARD_DRIFT,
    }
