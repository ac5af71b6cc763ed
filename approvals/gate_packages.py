"""The gate type `package_valid` {format, parity, tolerance}: the version has a succeeded packaging job of the
format (packager), with a passing parity check unless `parity: false` (and, with `tolerance`, a max absolute
difference within it). Pure, over GateInput.packages; registered when approvals.gates is imported."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from approvals.gate_base import (
    FAILED,
    PASSED,
    PENDING,
    GateInput,
    GateOutcome,
    GateSpec,
    as_float,
    fmt,
    gate,
    is_number,
    params_validator,
)

# Formats a packaging job builds (packager: POST .../packages) and how people call them.
PACKAGE_FORMATS = {
    "onnx": "ONNX",
    "torchscript": "TorchScript",
    "joblib": "joblib",
    "savedmodel": "SavedModel",
}


@params_validator("package_valid")
def _package_params(params: dict[str, Any]) -> list[str]:
    problems = [
        f"unknown parameter {k!r} (allowed: format, parity, tolerance)"
        for k in params
        if k not in {"format", "parity", "tolerance"}
    ]
    if params.get("format") not in PACKAGE_FORMATS:
        problems.append(f"format must be one of {', '.join(PACKAGE_FORMATS)}")
    if "parity" in params and not isinstance(params["parity"], bool):
        problems.append("parity must be true or false")
    if "tolerance" in params and not (is_number(params["tolerance"]) and params["tolerance"] >= 0):
        problems.append("tolerance must be a number >= 0")
    if "tolerance" in params and params.get("parity") is False:
        problems.append("tolerance needs parity: true")
    return problems


def _parity_problem(job: dict[str, Any], tolerance: float | None) -> str | None:
    """Why the job's parity check does not pass (None: it passes, within `tolerance` when given)."""
    parity = job.get("parity")
    if not isinstance(parity, dict):
        return "it records no parity check"
    diff = as_float(parity.get("max_abs_diff"))
    if parity.get("passed") is not True:
        return f"its parity check failed (max abs diff {fmt(diff)} on {parity.get('rows', '?')} rows)"
    if tolerance is not None and (diff is None or diff > tolerance):
        return f"its max abs diff {fmt(diff)} is over the policy's tolerance {fmt(tolerance)}"
    return None


@gate("package_valid")
def package_valid(inp: GateInput, params: dict[str, Any]) -> GateOutcome:
    """A succeeded packaging job of the format (with a passing parity check unless `parity: false`)."""
    key = str(params["format"])
    name, parity = PACKAGE_FORMATS.get(key, key), params.get("parity", True) is not False
    expected = f"a succeeded {name} package" + (" with parity" if parity else "")
    start = f"start {name} packaging from the version page (Packages), then re-check"
    if inp.packages is None:
        return GateOutcome(
            PENDING, "packages unknown", expected, f"The {name} packages are not known yet; waiting."
        )
    jobs = [j for j in inp.packages if j.get("format") == key]
    done = [j for j in jobs if j.get("state") == "succeeded"]
    live = [j for j in jobs if j.get("state") in ("queued", "running")]
    if done:
        ref = f"package #{done[0].get('id')}"
        problem = _parity_problem(done[0], as_float(params.get("tolerance"))) if parity else None
        if problem is not None:
            return GateOutcome(
                FAILED, f"{ref}: {problem}", expected, f"The {name} {ref} was built but {problem}: {start}."
            )
        proof = " and predicts like the original model" if parity else ""
        return GateOutcome(PASSED, f"{ref} succeeded", expected, f"The {name} {ref} was built{proof}.")
    if live:
        ref, state = f"#{live[0].get('id')}", live[0].get("state")
        return GateOutcome(
            PENDING,
            f"package {ref} {state}",
            expected,
            f"{name} packaging job {ref} is {state}; waiting for it.",
        )
    if jobs:
        ref, error = f"#{jobs[0].get('id')}", jobs[0].get("error") or "no reason recorded"
        return GateOutcome(
            FAILED,
            f"package {ref} failed",
            expected,
            f"The last {name} packaging job {ref} failed ({error}): fix it and {start}.",
        )
    return GateOutcome(FAILED, "no package", expected, f"The version has no {name} package: {start}.")


def strictest_tolerance(specs: Iterable[GateSpec]) -> float | None:
    """The smallest `tolerance` among these package_valid gates with a parity check (None: none sets one): what
    a packaging job of the model checks its parity against, so a job passes only what the policy will accept."""
    found = [
        as_float(s.params["tolerance"])
        for s in specs
        if s.type == "package_valid" and s.params.get("parity", True) and is_number(s.params.get("tolerance"))
    ]
    values = [v for v in found if v is not None]
    return min(values) if values else None
