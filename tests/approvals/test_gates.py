"""Table tests for every gate type (pure functions, no database)."""

from dataclasses import replace

import pytest

from approvals.gates import (
    GATE_TYPES,
    GateInput,
    GateOutcome,
    GateSpec,
    evaluate_gate,
    gate,
    validate_params,
)

BASE = GateInput(
    model_name="credit-default-classifier",
    version=3,
    version_status="READY",
    has_signature=True,
    version_tags={"data_validated": "true"},
    metrics={"roc_auc": 0.91, "rmse": 2.0},
    model_tags={"primary_metric": "roc_auc"},
    holder_version=2,
    holder_metrics={"roc_auc": 0.88, "rmse": 2.5},
    card_score=1.0,
    card_missing=(),
    is_rollback=False,
    flagged_training_data=(),
)


def run(gate_type, params=None, **changes):
    return evaluate_gate(GateSpec(gate_type, params or {}), replace(BASE, **changes))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("READY", "passed"),
        ("PENDING_REGISTRATION", "failed"),
        ("FAILED_REGISTRATION", "failed"),
        ("", "failed"),
    ],
)
def test_version_ready_passes_only_when_mlflow_says_ready(status, expected):
    outcome = run("version_ready", version_status=status)
    assert outcome.status == expected
    assert outcome.expected == "READY"
    assert outcome.detail


@pytest.mark.parametrize(
    ("has_signature", "expected", "observed"),
    [(True, "passed", "present"), (False, "failed", "absent"), (None, "pending", "not read yet")],
)
def test_signature_present_fails_when_absent_and_waits_when_not_read_yet(has_signature, expected, observed):
    outcome = run("signature_present", has_signature=has_signature)
    assert (outcome.status, outcome.observed) == (expected, observed)


@pytest.mark.parametrize(
    ("tags", "required", "expected", "detail_part"),
    [
        ({"data_validated": "true"}, {"data_validated": "true"}, "passed", "Every required"),
        ({"data_validated": "false"}, {"data_validated": "true"}, "failed", "data_validated is 'false'"),
        ({}, {"data_validated": "true"}, "failed", "data_validated is missing"),
        ({"a": "1", "b": "2"}, {"a": "1", "b": "2"}, "passed", "Every required"),
        ({"a": "1"}, {"a": "1", "b": "2"}, "failed", "b is missing"),
        ({"data_validated": "True"}, {"data_validated": "true"}, "failed", "not 'true'"),
    ],
)
def test_required_tags_compares_each_tag_exactly(tags, required, expected, detail_part):
    outcome = run("required_tags", {"tags": required}, version_tags=tags)
    assert outcome.status == expected
    assert detail_part in outcome.detail


@pytest.mark.parametrize(
    ("metrics", "params", "expected"),
    [
        ({"roc_auc": 0.91}, {"metric": "roc_auc", "min": 0.9}, "passed"),
        ({"roc_auc": 0.9}, {"metric": "roc_auc", "min": 0.9}, "passed"),  # bounds are inclusive
        ({"roc_auc": 0.89}, {"metric": "roc_auc", "min": 0.9}, "failed"),
        ({"rmse": 2.0}, {"metric": "rmse", "max": 2.5}, "passed"),
        ({"rmse": 3.0}, {"metric": "rmse", "max": 2.5}, "failed"),
        ({"rmse": 2.0}, {"metric": "rmse", "min": 1, "max": 2.5}, "passed"),
        ({"rmse": 0.5}, {"metric": "rmse", "min": 1, "max": 2.5}, "failed"),
        ({}, {"metric": "rmse", "max": 2.5}, "failed"),
        ({"rmse": float("nan")}, {"metric": "rmse", "max": 2.5}, "failed"),
        ({"rmse": "2.0"}, {"metric": "rmse", "max": 2.5}, "passed"),
    ],
)
def test_metric_threshold_checks_min_and_max(metrics, params, expected):
    outcome = run("metric_threshold", params, metrics=metrics)
    assert outcome.status == expected


def test_metric_threshold_names_a_missing_metric():
    outcome = run("metric_threshold", {"metric": "f1", "min": 0.5}, metrics={})
    assert outcome.observed == "missing"
    assert "'f1'" in outcome.detail


@pytest.mark.parametrize(
    ("model_tags", "metrics", "holder_version", "holder_metrics", "expected", "detail_part"),
    [
        ({"primary_metric": "roc_auc"}, {"roc_auc": 0.91}, 2, {"roc_auc": 0.88}, "passed", "beats"),
        ({"primary_metric": "roc_auc"}, {"roc_auc": 0.85}, 2, {"roc_auc": 0.88}, "failed", "worse"),
        ({"primary_metric": "roc_auc"}, {"roc_auc": 0.88}, 2, {"roc_auc": 0.88}, "failed", "tie"),
        (
            {"primary_metric": "rmse", "primary_metric_goal": "minimize"},
            {"rmse": 2.0},
            2,
            {"rmse": 2.5},
            "passed",
            "beats",
        ),
        (
            {"primary_metric": "rmse", "primary_metric_goal": "minimize"},
            {"rmse": 3.0},
            2,
            {"rmse": 2.5},
            "failed",
            "worse",
        ),
        (
            {"primary_metric": "rmse", "primary_metric_goal": "MINIMIZE"},
            {"rmse": 2.0},
            2,
            {"rmse": 2.5},
            "passed",
            "beats",
        ),
        ({"primary_metric": "roc_auc"}, {"roc_auc": 0.5}, None, None, "passed", "Nothing holds"),
        ({"primary_metric": "roc_auc"}, {}, None, None, "passed", "Nothing holds"),
        ({}, {"roc_auc": 0.91}, 2, {"roc_auc": 0.88}, "failed", "primary_metric"),
        ({"primary_metric": "roc_auc"}, {}, 2, {"roc_auc": 0.88}, "failed", "has no numeric"),
        ({"primary_metric": "roc_auc"}, {"roc_auc": 0.91}, 2, {}, "failed", "current holder v2 has no"),
        ({"primary_metric": "roc_auc"}, {"roc_auc": 0.91}, 2, None, "failed", "current holder v2 has no"),
        (
            {"primary_metric": "roc_auc", "primary_metric_goal": "up"},
            {"roc_auc": 0.91},
            2,
            {"roc_auc": 0.8},
            "failed",
            "maximize or minimize",
        ),
        ({"primary_metric": "roc_auc"}, {"roc_auc": 0.91}, 3, {"roc_auc": 0.91}, "failed", "already holds"),
    ],
)
def test_beats_current_compares_with_the_holder_on_the_primary_metric(
    model_tags, metrics, holder_version, holder_metrics, expected, detail_part
):
    outcome = run(
        "beats_current",
        model_tags=model_tags,
        metrics=metrics,
        holder_version=holder_version,
        holder_metrics=holder_metrics,
    )
    assert outcome.status == expected, outcome
    assert detail_part in outcome.detail


def test_rollback_skips_beats_current_with_the_reason():
    outcome = run("beats_current", is_rollback=True, metrics={"roc_auc": 0.1})
    assert outcome.status == "skipped"
    assert "rollback" in outcome.detail


def test_rollback_still_runs_every_other_gate():
    assert run("version_ready", is_rollback=True, version_status="PENDING_REGISTRATION").status == "failed"
    assert run("signature_present", is_rollback=True, has_signature=False).status == "failed"


@pytest.mark.parametrize(
    ("score", "missing", "params", "expected", "detail_part"),
    [
        (1.0, (), {}, "passed", "100%"),
        (0.8, ("Intended use",), {}, "failed", "Intended use"),
        (0.8, ("Intended use",), {"threshold": 0.8}, "passed", "80%"),
        (0.79, ("Limitations",), {"threshold": 0.8}, "failed", "Limitations"),
        (None, (), {}, "pending", "not been drafted yet"),
        (0.0, (), {"threshold": 0}, "passed", "0%"),
    ],
)
def test_model_card_complete_compares_the_score_with_the_threshold(
    score, missing, params, expected, detail_part
):
    outcome = run("model_card_complete", params, card_score=score, card_missing=missing)
    assert outcome.status == expected
    assert detail_part in outcome.detail


def test_unknown_gate_type_is_an_error_not_an_exception():
    outcome = run("no_such_gate")
    assert outcome.status == "error"
    assert "no_such_gate" in outcome.detail


def test_an_exception_inside_a_gate_becomes_an_error_outcome():
    @gate("test_explodes")
    def explodes(inp, params):
        raise RuntimeError("boom")

    try:
        outcome = run("test_explodes")
    finally:
        del GATE_TYPES["test_explodes"]
    assert outcome.status == "error"
    assert "boom" in outcome.detail


def test_a_new_gate_type_is_one_function_and_one_line():
    @gate("test_even_version")
    def even_version(inp, params):
        ok = inp.version % 2 == 0
        return GateOutcome("passed" if ok else "failed", str(inp.version), "even", "Version parity.")

    try:
        assert run("test_even_version", version=4).status == "passed"
        assert run("test_even_version", version=3).status == "failed"
        assert validate_params("test_even_version", {}) == []
    finally:
        del GATE_TYPES["test_even_version"]


@pytest.mark.parametrize(
    ("gate_type", "params", "problem"),
    [
        ("version_ready", {}, None),
        ("version_ready", {"x": 1}, "takes no parameters"),
        ("required_tags", {}, "non-empty mapping"),
        ("required_tags", {"tags": {"data_validated": True}}, "must be strings"),
        ("required_tags", {"tags": {"a": "b"}, "extra": 1}, "unknown parameter 'extra'"),
        ("metric_threshold", {"metric": "auc"}, "give min, max or both"),
        ("metric_threshold", {"min": 1}, "metric must be"),
        ("metric_threshold", {"metric": "auc", "min": "high"}, "min must be a number"),
        ("metric_threshold", {"metric": "auc", "min": 2, "max": 1}, "min must not be greater"),
        ("metric_threshold", {"metric": "auc", "min": 0.5, "max": 1}, None),
        ("model_card_complete", {"threshold": 1.5}, "between 0 and 1"),
        ("model_card_complete", {"threshold": 0.5}, None),
        ("beats_current", {"metric": "auc"}, "takes no parameters"),
        ("frobnicate", {}, "unknown gate type"),
    ],
)
def test_validate_params_names_the_problem(gate_type, params, problem):
    problems = validate_params(gate_type, params)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_every_registered_gate_returns_a_complete_outcome():
    for name in (
        "version_ready",
        "signature_present",
        "required_tags",
        "metric_threshold",
        "beats_current",
        "model_card_complete",
        "training_data_not_flagged",
    ):
        assert name in GATE_TYPES
    params = {"required_tags": {"tags": {"a": "b"}}, "metric_threshold": {"metric": "roc_auc", "min": 0}}
    for name in GATE_TYPES:
        outcome = run(name, params.get(name, {}))
        assert outcome.status in {"passed", "failed", "error", "skipped"}
        assert isinstance(outcome.observed, str) and isinstance(outcome.expected, str) and outcome.detail
