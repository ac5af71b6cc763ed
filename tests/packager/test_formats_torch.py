"""A PyTorch model packaged as TorchScript and as ONNX, with parity on its input example."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from packager.formats import build
from tests.support import saved_models

# Conversions touch no database: they run once, in the PostgreSQL pass.
pytestmark = pytest.mark.postgres_pass_only

torch = pytest.importorskip("torch", reason="the [torch] extra is not installed")


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    return saved_models.torch_mlp(tmp_path_factory.mktemp("torch") / "mlp")


def test_a_pickled_module_that_torch_export_refuses_falls_back_to_the_torchscript_exporter(tmp_path):
    model_dir = saved_models.branchy_torch(tmp_path / "branchy")

    built = build("onnx", model_dir, tmp_path / "out", tolerance=1e-4, on_step=lambda step: None)

    assert built.io["exporter"] == "torchscript"
    assert built.parity.passed and built.parity.rows == 20


def test_a_pytorch_mlp_becomes_an_onnx_package_with_a_dynamic_batch(mlp, tmp_path):
    steps = []
    built = build("onnx", mlp, tmp_path, tolerance=1e-4, on_step=steps.append)

    assert steps == ["loading", "converting", "validating"]
    assert built.parity.passed and built.parity.rows == 20
    assert built.io["exporter"] in {"dynamo", "torchscript"}
    assert built.io["inputs"][0]["name"] == "input" and built.io["inputs"][0]["type"] == "float32"
    session = ort.InferenceSession(str(built.path), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {"input": np.zeros((7, 4), np.float32)})
    assert output.shape == (7, 3)


def test_a_pytorch_mlp_becomes_a_torchscript_package_that_loads_without_its_class(mlp, tmp_path):
    built = build("torchscript", mlp, tmp_path, tolerance=1e-4, on_step=lambda step: None)

    assert built.path == tmp_path / "model.pt" and built.opset is None
    assert built.parity.passed and built.parity.max_abs_diff == 0.0
    loaded = torch.jit.load(str(built.path))
    assert tuple(loaded(torch.zeros(2, 4)).shape) == (2, 3)
