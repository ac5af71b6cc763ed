"""A model pickle runs whatever its author wrote: the sandboxed child keeps it from secrets and from hanging,
exhausting or crashing the worker."""

from __future__ import annotations

import json
import os
import time

import pytest

from packager.formats import Limits, PackagingFailed, build
from tests.support import saved_models

# Conversions touch no database: they run once, in the PostgreSQL pass.
pytestmark = pytest.mark.postgres_pass_only

QUICK = Limits(cpu_seconds=60, memory_mb=4096, file_mb=512, timeout_seconds=120)


def hostile_build(tmp_path, code: str, limits: Limits = QUICK):
    model_dir = saved_models.hostile_sklearn(tmp_path / "model", code)
    return build(
        "onnx", model_dir, tmp_path / "out", tolerance=1e-4, on_step=lambda step: None, limits=limits
    )


def test_a_hostile_model_sees_no_secret_of_the_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIT_CHAIN_KEY", "chain-key-secret")
    monkeypatch.setenv("DATABASE_URL", "postgres://user:db-secret@host/db")
    monkeypatch.setenv("SECRET_KEY", "django-secret")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "mlflow-token-secret")
    spy = tmp_path / "seen.json"
    code = f"import json, os; open({str(spy)!r}, 'w').write(json.dumps({{'env': dict(os.environ), 'cwd': os.getcwd()}}))"

    with pytest.raises(PackagingFailed):
        hostile_build(tmp_path, code)

    seen = json.loads(spy.read_text())
    assert "secret" not in json.dumps(seen["env"])
    assert not {"AUDIT_CHAIN_KEY", "DATABASE_URL", "SECRET_KEY", "MLFLOW_TRACKING_TOKEN"} & set(seen["env"])
    assert seen["cwd"] == seen["env"]["HOME"] != os.getcwd()
    assert not os.path.exists(seen["cwd"])  # the working directory is gone with the build


def test_a_model_that_loops_forever_is_stopped_at_the_wall_clock_limit(tmp_path):
    began = time.monotonic()
    with pytest.raises(PackagingFailed) as failure:
        hostile_build(tmp_path, "import time\nwhile True: time.sleep(1)", Limits(timeout_seconds=20))

    assert time.monotonic() - began < 40
    assert str(failure.value) == "Packaging did not finish within 20 s and was stopped (while loading)."


def test_a_model_that_burns_cpu_is_stopped_at_the_cpu_limit(tmp_path):
    with pytest.raises(PackagingFailed, match="more than its 5 s of CPU time while loading"):
        hostile_build(tmp_path, "while True: pass", Limits(cpu_seconds=5, timeout_seconds=120))


def test_a_model_that_exhausts_memory_fails_with_a_sentence(tmp_path):
    with pytest.raises(PackagingFailed) as failure:
        hostile_build(tmp_path, "hog = bytearray(8 * 2**30)", QUICK)

    assert str(failure.value) == "The model needed more memory than the packaging limit of 4096 MB."


def test_a_model_that_segfaults_fails_with_a_sentence(tmp_path):
    with pytest.raises(PackagingFailed) as failure:
        hostile_build(tmp_path, "import ctypes; ctypes.string_at(0)")

    assert str(failure.value) == "The packaging process crashed (segmentation fault) while loading."
