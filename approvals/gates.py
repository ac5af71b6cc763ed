"""Promotion gates: pure functions over plain data (no ORM, no I/O).

The framework (GateInput, GateOutcome, GateSpec, the registry, `validate_params`, `evaluate_gate`) is in
approvals.gate_base and re-exported here: import from this module, which also registers every gate type.
A gate type is one function registered with `@gate("name")` (and, when it takes parameters, one
`@params_validator("name")`). `evaluate_gate` runs one configured gate and never raises: an unknown type
or an exception inside a gate becomes an outcome with status `error`.

Every outcome carries what was observed, what was expected and a human sentence (`detail`) that a
reviewer can read without knowing the code.
"""

from __future__ import annotations

from typing import Any

from approvals.gate_base import (
    ERROR,
    FAILED,
    GATE_TYPES,
    PARAM_VALIDATORS,
    PASSED,
    PENDING,
    SKIPPED,
    SKIPPED_ON_ROLLBACK,
    GateFn,
    GateInput,
    GateOutcome,
    GateSpec,
    ParamsValidator,
    evaluate_gate,
    gate,
    params_validator,
    validate_params,
)
from approvals.gate_base import as_float as _as_float
from approvals.gate_base import fmt as _fmt
from approvals.gate_base import is_number as _is_number
from approvals.gate_packages import PACKAGE_FORMATS, package_valid

__all__ = [
    "ERROR",
    "FAILED",
    "GATE_TYPES",
    "PARAM_VALIDATORS",
    "PASSED",
    "PENDING",
    "SKIPPED",
    "SKIPPED_ON_ROLLBACK",
    "GateFn",
    "GateInput",
    "GateOutcome",
    "GateSpec",
    "ParamsValidator",
    "evaluate_gate",
    "gate",
    "params_validator",
    "validate_params",
    "PACKAGE_FORMATS",
    "package_valid",
]


# --- gate types -----------------------------------------------------------------------------------
@gate("version_ready")
def version_ready(inp: GateInput, params: dict[str, Any]) -> GateOutcome:
    status = inp.version_status or "unknown"
    if status == "READY":
        return GateOutcome(PASSED, status, "READY", f"Version {inp.version} is READY in MLflow.")
    return GateOutcome(
        FAILED,
        status,
        "READY",
        f"Version {inp.version} is {status} in MLflow, not READY: it cannot be served yet.",
    )


@gate("signature_present")
def signature_present(inp: GateInput, params: dict[str, Any]) -> GateOutcome:
    if inp.has_signature is None:
        # Unknown is not failed: the gate run waits for the artifacts (bounded) and evaluates again.
        return GateOutcome(
            PENDING,
            "not read yet",
            "a model signature",
            "The version's artifacts have not been read from MLflow yet, so its signature is unknown; "
            "waiting for them.",
        )
    if inp.has_signature:
        return GateOutcome(
            PASSED, "present", "a model signature", "The model declares its input and output signature."
        )
    return GateOutcome(
        FAILED,
        "absent",
        "a model signature",
        "The model was logged without a signature (inputs/outputs); log it with `signature=` or an input example.",
    )


@params_validator("required_tags")
def _required_tags_params(params: dict[str, Any]) -> list[str]:
    problems = [f"unknown parameter {k!r} (allowed: tags)" for k in params if k != "tags"]
    tags = params.get("tags")
    if not isinstance(tags, dict) or not tags:
        problems.append("tags must be a non-empty mapping of tag name to required value")
    else:
        for key, value in tags.items():
            if not isinstance(key, str) or not isinstance(value, str):
                problems.append(
                    f'tag {key!r}: names and values must be strings (quote values such as "true")'
                )
    return problems


@gate("required_tags")
def required_tags(inp: GateInput, params: dict[str, Any]) -> GateOutcome:
    wanted: dict[str, Any] = params.get("tags") or {}
    expected = ", ".join(f"{k}={v}" for k, v in sorted(wanted.items()))
    wrong = []
    for key, value in sorted(wanted.items()):
        actual = inp.version_tags.get(key)
        if actual is None:
            wrong.append(f"{key} is missing")
        elif str(actual) != str(value):
            wrong.append(f"{key} is {actual!r}, not {value!r}")
    observed = ", ".join(
        f"{k}={inp.version_tags[k]}" if k in inp.version_tags else f"{k} missing" for k in sorted(wanted)
    )
    if wrong:
        return GateOutcome(
            FAILED, observed, expected, "Required version tags are not set: " + "; ".join(wrong) + "."
        )
    return GateOutcome(PASSED, observed, expected, "Every required version tag has the required value.")


@params_validator("metric_threshold")
def _metric_threshold_params(params: dict[str, Any]) -> list[str]:
    problems = [
        f"unknown parameter {k!r} (allowed: metric, min, max)"
        for k in params
        if k not in {"metric", "min", "max"}
    ]
    if not isinstance(params.get("metric"), str) or not params.get("metric"):
        problems.append("metric must be a metric name")
    if "min" not in params and "max" not in params:
        problems.append("give min, max or both")
    for bound in ("min", "max"):
        if bound in params and not _is_number(params[bound]):
            problems.append(f"{bound} must be a number")
    if _is_number(params.get("min")) and _is_number(params.get("max")) and params["min"] > params["max"]:
        problems.append("min must not be greater than max")
    return problems


@gate("metric_threshold")
def metric_threshold(inp: GateInput, params: dict[str, Any]) -> GateOutcome:
    metric = params["metric"]
    low, high = params.get("min"), params.get("max")
    parts = []
    if low is not None:
        parts.append(f"{metric} >= {_fmt(low)}")
    if high is not None:
        parts.append(f"{metric} <= {_fmt(high)}")
    expected = " and ".join(parts)
    value = _as_float(inp.metrics.get(metric))
    if value is None:
        observed = "missing" if metric not in inp.metrics else f"{inp.metrics.get(metric)!r} (not a number)"
        return GateOutcome(
            FAILED,
            observed,
            expected,
            f"The version's run has no numeric metric {metric!r}, so the threshold cannot hold.",
        )
    if low is not None and value < low:
        return GateOutcome(
            FAILED, _fmt(value), expected, f"{metric} is {_fmt(value)}, below the minimum {_fmt(low)}."
        )
    if high is not None and value > high:
        return GateOutcome(
            FAILED, _fmt(value), expected, f"{metric} is {_fmt(value)}, above the maximum {_fmt(high)}."
        )
    return GateOutcome(PASSED, _fmt(value), expected, f"{metric} is {_fmt(value)}, within the threshold.")


@gate("beats_current")
def beats_current(inp: GateInput, params: dict[str, Any]) -> GateOutcome:
    """Compare with the version holding the target on the model's primary metric.

    Ties fail: promoting a version that is no better than what already serves is not "beating" it (a rollback
    skips this gate, and a policy that wants ties to pass can use metric_threshold instead).
    """
    metric = inp.model_tags.get("primary_metric")
    goal = (inp.model_tags.get("primary_metric_goal") or "maximize").strip().lower()
    if not metric:
        return GateOutcome(
            FAILED,
            "no primary_metric tag",
            "model tag primary_metric",
            "The registered model has no `primary_metric` tag, so there is nothing to compare; set it (and "
            "`primary_metric_goal` = maximize|minimize) on the model in MLflow.",
        )
    if goal not in {"maximize", "minimize"}:
        return GateOutcome(
            FAILED,
            f"primary_metric_goal={goal}",
            "maximize or minimize",
            f"The model tag primary_metric_goal is {goal!r}; it must be maximize or minimize.",
        )
    word = ">" if goal == "maximize" else "<"
    value = _as_float(inp.metrics.get(metric))
    if inp.holder_version is None:
        observed = "nothing holds the target" if value is None else f"{metric}={_fmt(value)}; no holder"
        return GateOutcome(
            PASSED,
            observed,
            f"{metric} {word} current holder",
            "Nothing holds this target yet, so there is nothing to beat.",
        )
    if inp.holder_version == inp.version:
        return GateOutcome(
            FAILED,
            f"v{inp.version} already holds the target",
            f"{metric} {word} current holder",
            f"Version {inp.version} already holds this target.",
        )
    expected = f"{metric} {word} v{inp.holder_version}"
    if value is None:
        return GateOutcome(
            FAILED, f"{metric} missing", expected, f"Version {inp.version} has no numeric {metric!r} metric."
        )
    held = _as_float((inp.holder_metrics or {}).get(metric))
    if held is None:
        return GateOutcome(
            FAILED,
            f"{metric}={_fmt(value)}; v{inp.holder_version} has none",
            expected,
            f"The current holder v{inp.holder_version} has no numeric {metric!r} metric to compare with.",
        )
    observed = f"{metric}={_fmt(value)} vs {_fmt(held)} (v{inp.holder_version})"
    better = value > held if goal == "maximize" else value < held
    if better:
        return GateOutcome(
            PASSED,
            observed,
            expected,
            f"{metric} {_fmt(value)} beats {_fmt(held)} of v{inp.holder_version} ({goal}).",
        )
    if value == held:
        return GateOutcome(
            FAILED,
            observed,
            expected,
            f"{metric} ties with v{inp.holder_version} ({_fmt(value)}); a tie does not beat it.",
        )
    return GateOutcome(
        FAILED,
        observed,
        expected,
        f"{metric} {_fmt(value)} is worse than {_fmt(held)} of v{inp.holder_version} ({goal}).",
    )


@params_validator("model_card_complete")
def _card_params(params: dict[str, Any]) -> list[str]:
    problems = [f"unknown parameter {k!r} (allowed: threshold)" for k in params if k != "threshold"]
    if "threshold" in params and not (_is_number(params["threshold"]) and 0 <= params["threshold"] <= 1):
        problems.append("threshold must be a number between 0 and 1")
    return problems


@gate("model_card_complete")
def model_card_complete(inp: GateInput, params: dict[str, Any]) -> GateOutcome:
    threshold = float(params.get("threshold", 1.0))
    expected = f"completeness >= {threshold:.0%}"
    if inp.card_score is None:
        # Unknown is not failed: the card is drafted by a worker right after the version is mirrored; the gate
        # run waits for it (bounded) and evaluates again once it is drafted.
        return GateOutcome(
            PENDING,
            "not drafted yet",
            expected,
            "The version's model card has not been drafted yet (a worker drafts it right after the version is "
            "mirrored), so its completeness is unknown; waiting for it.",
        )
    observed = f"{inp.card_score:.0%}"
    if inp.card_score + 1e-9 >= threshold:
        return GateOutcome(PASSED, observed, expected, f"The model card is {observed} complete.")
    missing = ", ".join(inp.card_missing) if inp.card_missing else "some items"
    return GateOutcome(
        FAILED,
        observed,
        expected,
        f"The model card is {observed} complete (needs {threshold:.0%}); missing: {missing}.",
    )


@gate("training_data_not_flagged")
def training_data_not_flagged(inp: GateInput, params: dict[str, Any]) -> GateOutcome:
    expected, flagged = "no flagged training data", inp.flagged_training_data
    if flagged is None:
        return GateOutcome(
            PENDING,
            "lineage unknown",
            expected,
            "The data the version was trained on is not known yet (no lineage source answered), so whether a "
            "flagged dataset trained it is unknown; waiting for it.",
        )
    if not flagged:
        return GateOutcome(
            PASSED, "none flagged", expected, "No dataset the version's runs trained on is flagged."
        )
    reasons = "; ".join(
        f"{f.get('digest')} (run {f.get('run_id') or '?'}): {f.get('reason') or 'no reason given'}"
        for f in sorted(flagged, key=lambda f: (str(f.get("digest")), str(f.get("run_id"))))
    )
    observed = "flagged: " + ", ".join(sorted({str(f.get("digest") or "") for f in flagged}))
    return GateOutcome(FAILED, observed, expected, f"The version was trained on flagged data: {reasons}.")
