"""The gate package_valid: pure table over the version's packaging jobs, its parameters, and on real rows: a
promotion blocked without a package, waiting while one is built and going on when the job ends."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import pytest

from approvals.gates import GateInput, GateSpec, evaluate_gate, validate_params
from approvals.workflow import evaluation, gating
from mirror import hooks
from mirror import tasks as mirror_tasks
from mirror.models import ModelVersion
from packager import lease
from packager.models import PackageJob
from tests.support.governance import request_and_check, seed_model

BASE = GateInput(model_name="churn", version=2, version_status="READY", has_signature=True)
PARITY_OK = {"rows": 5, "max_abs_diff": 3e-7, "passed": True, "tolerance": 1e-4}
PARITY_BAD = {"rows": 5, "max_abs_diff": 0.2, "passed": False, "tolerance": 1e-4}


def job(id, state="succeeded", format="onnx", parity=PARITY_OK, error=""):
    return {"id": id, "format": format, "state": state, "parity": parity, "error": error}


GATE_TABLE = [
    # (id, params, packages newest first, status, words in the detail)
    ("succeeded-with-parity", {"format": "onnx", "parity": True}, [job(7)], "passed", "predicts like"),
    ("parity-by-default", {"format": "onnx"}, [job(7, parity=PARITY_BAD)], "failed", "parity check failed"),
    ("parity-failed", {"format": "onnx", "parity": True}, [job(7, parity=PARITY_BAD)], "failed", "start ONNX packaging"),
    ("no-parity-recorded", {"format": "onnx", "parity": True}, [job(7, parity=None)], "failed", "no parity check"),
    ("parity-not-asked", {"format": "joblib", "parity": False}, [job(3, format="joblib", parity=None)], "passed", "joblib"),
    ("over-tolerance", {"format": "onnx", "tolerance": 1e-8}, [job(7)], "failed", "over the policy's tolerance"),
    ("within-tolerance", {"format": "onnx", "tolerance": 1e-6}, [job(7)], "passed", "#7"),
    ("no-package", {"format": "onnx", "parity": True}, [], "failed", "start ONNX packaging from the version page"),
    ("other-format-only", {"format": "onnx"}, [job(4, format="joblib")], "failed", "has no ONNX package"),
    ("running", {"format": "onnx"}, [job(9, state="running")], "pending", "is running"),
    ("queued", {"format": "onnx"}, [job(9, state="queued")], "pending", "is queued"),
    ("last-failed", {"format": "onnx"}, [job(9, state="failed", error="unsupported operator")], "failed", "unsupported operator"),
    ("older-success-counts", {"format": "onnx"}, [job(9, state="failed"), job(8)], "passed", "#8"),
    ("unknown", {"format": "onnx"}, None, "pending", "not known"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("params", "packages", "status", "words"), [t[1:] for t in GATE_TABLE], ids=[t[0] for t in GATE_TABLE]
)
def test_gate_table(params, packages, status, words):
    inp = replace(BASE, packages=None if packages is None else tuple(packages))
    outcome = evaluate_gate(GateSpec("package_valid", params), inp)
    assert outcome.status == status, outcome
    assert words in outcome.detail and outcome.observed and outcome.expected


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "format must be one of onnx, torchscript, joblib, savedmodel"),
        ({"format": "pickle"}, "format must be one of"),
        ({"format": "onnx", "parity": "yes"}, "parity must be true or false"),
        ({"format": "onnx", "tolerance": -1}, "tolerance must be a number >= 0"),
        ({"format": "onnx", "parity": False, "tolerance": 0.1}, "tolerance needs parity: true"),
        ({"format": "onnx", "opset": 17}, "unknown parameter 'opset'"),
    ],
)
def test_parameters_are_checked(params, problem):
    assert any(problem in p for p in validate_params("package_valid", params))


def test_good_parameters_pass():
    assert validate_params("package_valid", {"format": "onnx", "parity": True, "tolerance": 1e-4}) == []


# --- with rows --------------------------------------------------------------------------------------------------
POLICY = textwrap.dedent(
    """
    version: 1
    targets:
      staging:
        mlflow: {alias: staging}
        approvals: 1
        approver_groups: [approvers]
        gates: [version_ready, {package_valid: {format: onnx, parity: true}}]
    """
)


@pytest.fixture
def packaged(use_policy, people, fake_mlflow):
    use_policy(POLICY)
    seed_model("churn", (1, 2))
    return ModelVersion.objects.get(model__name="churn", version=2)


def _job(mv, people, **fields):
    return PackageJob.objects.create(version=mv, format="onnx", requested_by=people["requester"], **fields)


@pytest.mark.django_db
def test_the_gate_input_carries_the_versions_jobs_newest_first_only_when_a_gate_needs_them(packaged, people):
    old = _job(packaged, people, state="failed", error="boom")
    new = _job(packaged, people, state="succeeded", parity=PARITY_OK)
    p = request_and_check(people["requester"], version=2)
    got = evaluation.gate_input(p, evaluation.stored_specs(p)).packages
    assert [(j["id"], j["state"]) for j in got] == [(new.pk, "succeeded"), (old.pk, "failed")]
    assert evaluation.gate_input(p, [GateSpec("version_ready")]).packages is None


@pytest.mark.django_db
def test_without_a_package_the_promotion_is_blocked_saying_what_to_do(packaged, people):
    p = request_and_check(people["requester"], version=2)
    assert p.state == "blocked"
    gate = p.gate_results.get(name="package_valid")
    assert gate.status == "failed" and "start ONNX packaging from the version page" in gate.detail


@pytest.mark.django_db
def test_a_running_job_makes_the_gate_wait_and_its_end_runs_the_gates_again(packaged, people, monkeypatch):
    job_row = _job(packaged, people, state="running")
    p = request_and_check(people["requester"], version=2)
    assert p.state == "checking"
    assert p.gate_results.get(name="package_valid").status == "pending"
    rerun = []
    monkeypatch.setattr(gating.queue, "enqueue_gates", lambda pk, **kw: rerun.append(pk))
    PackageJob.objects.filter(pk=job_row.pk).update(state="succeeded", parity=PARITY_OK)
    hooks.run_after_package_finished(version_ids=[packaged.pk])  # what the packager's finish runs on commit
    assert rerun == [p.pk]
    gating.run_gates(promotion_id=p.pk)
    p.refresh_from_db()
    assert p.state == "awaiting_approval"
    assert p.gate_results.get(name="package_valid").status == "passed"


@pytest.mark.django_db
def test_a_finished_packaging_job_tells_the_waiting_gates_once_it_commits(
    packaged, people, monkeypatch, django_capture_on_commit_callbacks
):
    # the package's sha256 tag is queued too: no broker here
    monkeypatch.setattr(mirror_tasks.apply_mlflow_write_task, "delay", lambda *a: None)
    told = []
    monkeypatch.setattr(hooks._package_finished, "subscribers", [lambda **kw: told.append(kw)])
    row = _job(packaged, people, state="running", worker="w1")
    with django_capture_on_commit_callbacks(execute=True):
        assert lease.finish(row, "w1", state="succeeded", sha256="ab" * 32, parity=PARITY_OK)
        assert told == []
    assert told == [{"version_ids": [packaged.pk]}]
