"""XGBoost and LightGBM classifiers packaged as ONNX (onnxmltools), with parity on their input example."""

from __future__ import annotations

import pytest

from packager.formats import build
from tests.support import saved_models

# Conversions touch no database: they run once, in the PostgreSQL pass.
pytestmark = pytest.mark.postgres_pass_only


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_a_boosted_classifier_becomes_an_onnx_package_with_the_same_probabilities(library, tmp_path):
    pytest.importorskip(library, reason="the [boosting] extra is not installed")
    model_dir = saved_models.boosted(tmp_path / library, library)

    built = build("onnx", model_dir, tmp_path / "out", tolerance=1e-4, on_step=lambda step: None)

    assert built.io["compared"] == "predict_proba"
    assert built.parity.passed and built.parity.rows == 20
    assert built.io["outputs"][1]["type"] == "float32"  # probabilities as a plain tensor, no ZipMap
