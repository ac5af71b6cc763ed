"""Loaded into a real worker process (`celery worker --include tests.packager.slow_build`) by the takeover test:
the worker's packaging converter becomes a stand-in that writes a small package from the downloaded model
files — and, when PACKAGE_TEST_STALL is set in the worker's environment, stalls in its converting step long
enough for the test to SIGKILL the worker there."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

from packager import formats


def build(fmt, model_dir: Path, out_dir: Path, *, tolerance: float, on_step):
    on_step("loading")
    on_step("converting")
    if os.environ.get("PACKAGE_TEST_STALL"):
        time.sleep(120)  # killed here
    out_dir.mkdir(parents=True, exist_ok=True)
    package = out_dir / "model.onnx"
    package.write_bytes(
        b"package of " + b"".join(p.read_bytes() for p in sorted(model_dir.rglob("*")) if p.is_file())
    )
    on_step("validating")
    parity = SimpleNamespace(
        as_dict=lambda: {"rows": 3, "max_abs_diff": 0.0, "passed": True, "tolerance": tolerance}
    )
    return SimpleNamespace(path=package, opset=17, io={"inputs": [], "outputs": []}, parity=parity)


formats.build = build
