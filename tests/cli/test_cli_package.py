"""Issue 13: `registry package --wait` follows a packaging job to its end (the job runs eagerly in the server
process; MLflow's artifact side and the converter are faked there, as tests/packager/ does)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from celery import current_app

from common.errors import MlflowUnavailable
from mirror import gateway
from packager import formats
from tests.support import cli

pytestmark = pytest.mark.django_db(transaction=True)
PACKAGE = ["package", "churn", "2", "--format", "onnx", "--wait", "--timeout", "60", "--interval", "0.2"]


def _download(name, version, dst: Path, *, max_bytes: int) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "model.pkl").write_bytes(b"model")
    return dst


def _build(fmt, model_dir: Path, out_dir: Path, *, tolerance: float, on_step):
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.onnx"
    path.write_bytes(b"onnx:" + (model_dir / "model.pkl").read_bytes())
    parity = SimpleNamespace(as_dict=lambda: {"rows": 5, "max_abs_diff": 1e-7, "passed": True})
    return SimpleNamespace(path=path, opset=17, io={}, parity=parity)


@pytest.fixture
def packaging(monkeypatch):
    monkeypatch.setattr(gateway, "download_model_dir", _download)
    monkeypatch.setattr(gateway, "log_run_artifact", lambda run_id, f, p: f"runs:/{run_id}/{p}/{f.name}")
    monkeypatch.setattr(formats, "build", _build)
    # The version tag package.onnx.sha256 would go to (a real) MLflow through the mirror's outbox: not here.
    tag_task = current_app.tasks["registry_ui.tasks.apply_mlflow_write_task"]
    monkeypatch.setattr(tag_task, "delay", lambda *a, **k: None)


def test_package_waits_until_the_job_succeeds_and_prints_its_hash(served, pipeline_env, packaging):
    res = cli.run(PACKAGE, pipeline_env())
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert "onnx): succeeded, sha256 " in res.stdout and "parity max_abs_diff 1e-07" in res.stdout


def test_a_failed_package_job_exits_13_with_its_error(served, pipeline_env, packaging, monkeypatch):
    def down(*args, **kwargs):
        raise MlflowUnavailable("connection refused (test)")

    monkeypatch.setattr(gateway, "download_model_dir", down)
    res = cli.run(PACKAGE, pipeline_env())
    assert res.returncode == 13, (res.stdout, res.stderr)
    assert "failed" in res.stdout and "error:" in res.stdout
