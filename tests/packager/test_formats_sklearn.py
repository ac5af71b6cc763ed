"""scikit-learn models packaged as ONNX and joblib, in the sandboxed child, with parity on the input example."""

from __future__ import annotations

import joblib
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from packager.formats import ParityFailed, build
from tests.support import saved_models

# Conversions touch no database: they run once, in the PostgreSQL pass.
pytestmark = pytest.mark.postgres_pass_only


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("sklearn-models")
    return {
        # MLflow's default format, skops, for this one; the others as cloudpickle.
        "logistic": saved_models.logistic_regression(root / "logistic", serialization_format="skops"),
        "forest": saved_models.random_forest(root / "forest"),
        "pipeline": saved_models.scaler_pipeline(root / "pipeline"),
    }


@pytest.mark.parametrize("kind", ["logistic", "forest", "pipeline"])
def test_a_classifier_becomes_an_onnx_package_that_predicts_the_same_probabilities(models, kind, tmp_path):
    steps = []
    built = build("onnx", models[kind], tmp_path, tolerance=1e-4, on_step=steps.append)

    assert steps == ["loading", "converting", "validating"]
    assert built.path == tmp_path / "model.onnx"
    assert built.parity.passed and built.parity.rows == 20
    assert built.parity.max_abs_diff <= 1e-4
    assert built.opset and built.opset >= 15
    assert [value["name"] for value in built.io["inputs"]] == ["input"]
    # No ZipMap: the probabilities are a plain float tensor a deployment can read.
    assert built.io["outputs"][1] == {"name": "probabilities", "type": "float32", "shape": [None, None]} or (
        built.io["outputs"][1]["type"] == "float32"
    )
    session = ort.InferenceSession(str(built.path), providers=["CPUExecutionProvider"])
    features = saved_models.iris()[0] if kind == "logistic" else None
    if features is not None:
        label, probabilities = session.run(None, {"input": features.to_numpy(np.float32)[:5]})
        assert probabilities.shape == (5, 3) and label.dtype == np.int64
    onnx.checker.check_model(str(built.path), full_check=True)


def test_an_sklearn_model_becomes_a_joblib_package_that_loads_back_identical(models, tmp_path):
    built = build("joblib", models["pipeline"], tmp_path, tolerance=1e-4, on_step=lambda step: None)

    assert built.path == tmp_path / "model.joblib" and built.opset is None
    assert built.parity.passed and built.parity.max_abs_diff == 0.0
    assert built.io["compared"] == "predict_proba"
    assert hasattr(joblib.load(built.path), "predict_proba")


def test_a_float32_package_fails_parity_at_tolerance_zero(models, tmp_path):
    with pytest.raises(ParityFailed) as failure:
        build("onnx", models["pipeline"], tmp_path, tolerance=0.0, on_step=lambda step: None)

    parity = failure.value.parity
    assert not parity.passed and parity.max_abs_diff > 0 and parity.rows == 20 and parity.tolerance == 0.0
    assert "more than the tolerance 0" in str(failure.value)
