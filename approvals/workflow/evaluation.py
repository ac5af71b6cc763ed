"""Gate results on the current mirror: the gates' input for a promotion and its evaluated (unsaved) rows."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from approvals.gates import GateInput, GateSpec, evaluate_gate
from approvals.models import GateResult, Promotion
from cards.selectors import card_status
from mirror import holders
from mirror.models import ModelVersion, RegisteredModel
from packager.models import PackageJob

log = logging.getLogger(__name__)

# Lineage sits above governance: it registers where the flagged training data of a version comes from.
_flagged_source: Callable[[ModelVersion], list[dict]] | None = None


def provide_flagged_training_data(
    fn: Callable[[ModelVersion], list[dict]],
) -> Callable[[ModelVersion], list[dict]]:
    """Register fn(version) -> the active dataset flags on the data its run (or a parent run) trained on."""
    global _flagged_source
    _flagged_source = fn
    return fn


def flagged_training_data(mv: ModelVersion) -> tuple[dict, ...] | None:
    """The registered source's answer; None (the gate cannot decide) without one or when it fails."""
    if _flagged_source is None:
        return None
    try:
        return tuple(_flagged_source(mv))
    except Exception:
        log.warning(
            "the flagged training data of %s v%s is unavailable", mv.model_id, mv.version, exc_info=True
        )
        return None


def holder_metrics(model: RegisteredModel, version: int | None) -> dict | None:
    """The source run metrics of `version` of the model ({} without a run); None without such a version."""
    if version is None:
        return None
    mv = ModelVersion.objects.select_related("source_run").filter(model=model, version=version).first()
    if mv is None:
        return None
    return dict(mv.source_run.metrics or {}) if mv.source_run else {}


FLAG_GATE = "training_data_not_flagged"
PACKAGE_GATE = "package_valid"


def packages(mv: ModelVersion) -> tuple[dict, ...]:
    """The version's packaging jobs, newest first, as the gate `package_valid` reads them (one query)."""
    rows = (
        PackageJob.objects.filter(version=mv)
        .order_by("-id")
        .values("id", "format", "state", "parity", "error")
    )
    return tuple(dict(row) for row in rows[:100])


def _needs(specs: list[GateSpec] | None, gate_type: str) -> bool:
    return specs is None or any(g.type == gate_type for g in specs)


def gate_input(p: Promotion, specs: list[GateSpec] | None = None) -> GateInput:
    """What the gates read of the promotion's version, its model, its card and the target's current holder
    (and, when one of `specs` needs them or `specs` is None, the flagged data the version trained on and its
    packaging jobs)."""
    mv = p.version
    model = p.model
    holder = holders.holder(model, p.mlflow_target)
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
        holder_metrics=holder_metrics(model, holder),
        card_score=card.get("score"),
        card_missing=tuple(card.get("missing") or ()),
        is_rollback=p.kind == Promotion.Kind.ROLLBACK,
        flagged_training_data=flagged_training_data(mv) if _needs(specs, FLAG_GATE) else None,
        packages=packages(mv) if _needs(specs, PACKAGE_GATE) else None,
    )


def stored_specs(p: Promotion) -> list[GateSpec]:
    """The gates as the promotion recorded them (the policy's at request time or at the last gate run)."""
    return [GateSpec(type=g["type"], params=g.get("params") or {}) for g in p.gate_specs]


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


def gate_row(
    *,
    p: Promotion,
    position: int,
    g: GateSpec,
    status: str,
    observed: object,
    expected: object,
    detail: str | None,
    now: datetime,
) -> GateResult:
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


def evaluate(p: Promotion, specs: list[GateSpec], inp: GateInput, now: datetime) -> list[GateResult]:
    """The unsaved result rows of these gates on `inp`; a gate that raises is an `error` row, never a pass."""
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
        rows.append(
            gate_row(
                p=p,
                position=i,
                g=g,
                status=status,
                observed=observed,
                expected=expected,
                detail=detail,
                now=now,
            )
        )
    return rows


def fresh_gate_rows(p: Promotion, *, at_apply: bool) -> list[GateResult]:
    """The promotion's gates (as evaluated for its signers) evaluated again on the current mirror; unsaved."""
    specs = stored_specs(p)
    inp = gate_input(p, specs)
    if at_apply and inp.holder_version == p.version.version:
        # A retried apply whose MLflow write the mirror already shows: the signers compared with the holder
        # this promotion replaces.
        inp = dataclasses.replace(
            inp,
            holder_version=p.previous_version,
            holder_metrics=holder_metrics(p.model, p.previous_version),
        )
    return evaluate(p, specs, inp, timezone.now())
