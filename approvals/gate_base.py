"""The gate framework: the gates' input, outcome and configured spec, the registry of gate types, parameter
validation and `evaluate_gate`, with the number helpers gate types share. Pure (no ORM, no I/O). The gate
types themselves are in approvals.gates (which re-exports all of this: import from there)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PASSED = "passed"
FAILED = "failed"
ERROR = "error"
SKIPPED = "skipped"
# Not decided: an input has not arrived in the mirror yet. The gate run waits (bounded) and evaluates again.
PENDING = "pending"


@dataclass(frozen=True)
class GateSpec:
    """One configured gate of a target: its type and parameters (validated by `validate_params`)."""

    type: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "params": dict(self.params)}


@dataclass(frozen=True)
class GateInput:
    model_name: str
    version: int
    version_status: str
    has_signature: bool | None  # None: the artifacts have not been read yet
    version_tags: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    model_tags: dict[str, Any] = field(default_factory=dict)
    holder_version: int | None = None  # the version currently holding the target
    holder_metrics: dict[str, Any] | None = None
    card_score: float | None = None
    card_missing: tuple[str, ...] = ()
    is_rollback: bool = False
    # Active flags on data the version's run (or a parent run) trained on, {digest, reason, run_id, ...} each;
    # None when no lineage source answered (the gate cannot decide).
    flagged_training_data: tuple[dict[str, Any], ...] | None = None
    # The version's packaging jobs, newest first: {id, format, state, parity: {rows, max_abs_diff, passed,
    # tolerance} | None, error} each; None when they were not read (no gate needs them) or are unknown.
    packages: tuple[dict[str, Any], ...] | None = None


@dataclass(frozen=True)
class GateOutcome:
    status: str  # passed | failed | error | skipped | pending (waiting for data)
    observed: str
    expected: str
    detail: str


GateFn = Callable[[GateInput, dict[str, Any]], GateOutcome]
ParamsValidator = Callable[[dict[str, Any]], list[str]]

GATE_TYPES: dict[str, GateFn] = {}
PARAM_VALIDATORS: dict[str, ParamsValidator] = {}
# Gate types that a rollback skips (going back to a previous version is the point of a rollback).
SKIPPED_ON_ROLLBACK: dict[str, str] = {
    "beats_current": "skipped on a rollback: going back to an earlier version is the point",
}


def gate(name: str) -> Callable[[GateFn], GateFn]:
    """Register a gate type: `@gate("my_gate")` over `def my_gate(inp, params) -> GateOutcome`."""

    def register(fn: GateFn) -> GateFn:
        GATE_TYPES[name] = fn
        return fn

    return register


def params_validator(name: str) -> Callable[[ParamsValidator], ParamsValidator]:
    """Register the parameter check of a gate type; without one, the type accepts no parameters."""

    def register(fn: ParamsValidator) -> ParamsValidator:
        PARAM_VALIDATORS[name] = fn
        return fn

    return register


def validate_params(type: str, params: dict[str, Any]) -> list[str]:
    """Problems with a gate's parameters, as short phrases ("threshold must be a number between 0 and 1")."""
    if type not in GATE_TYPES:
        known = ", ".join(sorted(GATE_TYPES))
        return [f"unknown gate type {type!r} (known: {known})"]
    if not isinstance(params, dict):
        return ["parameters must be a mapping"]
    validator = PARAM_VALIDATORS.get(type)
    if validator is None:
        return [f"gate {type} takes no parameters (got {', '.join(sorted(params))})"] if params else []
    return validator(params)


def evaluate_gate(spec: GateSpec, inp: GateInput) -> GateOutcome:
    fn = GATE_TYPES.get(spec.type)
    if fn is None:
        return GateOutcome(
            ERROR, "", "", f"Unknown gate type {spec.type!r}; the policy and the code disagree."
        )
    if inp.is_rollback and spec.type in SKIPPED_ON_ROLLBACK:
        return GateOutcome(SKIPPED, "rollback", "", SKIPPED_ON_ROLLBACK[spec.type].capitalize() + ".")
    try:
        return fn(inp, dict(spec.params or {}))
    except Exception as exc:  # a broken gate must not take the promotion down with it
        return GateOutcome(ERROR, "", "", f"The gate {spec.type} failed to run: {type(exc).__name__}: {exc}")


# --- helpers --------------------------------------------------------------------------------------
def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def as_float(value: Any) -> float | None:
    """Metrics arrive as floats; tags and JSON may carry numeric strings. None when not a finite number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
