"""A Keras model packaged as a SavedModel and as ONNX (tf2onnx), with parity on its input example."""

from __future__ import annotations

import zipfile

import pytest

from packager.formats import build
from tests.support import saved_models

# Conversions touch no database: they run once, in the PostgreSQL pass.
pytestmark = pytest.mark.postgres_pass_only

pytest.importorskip("tensorflow", reason="the [tensorflow] extra is not installed")


@pytest.fixture(scope="module")
def keras_dir(tmp_path_factory):
    return saved_models.keras_mlp(tmp_path_factory.mktemp("keras") / "mlp")


def test_a_keras_model_becomes_a_zipped_savedmodel_that_serves_the_same_outputs(keras_dir, tmp_path):
    built = build("savedmodel", keras_dir, tmp_path, tolerance=1e-4, on_step=lambda step: None)

    assert built.path.name == "saved_model.zip" and built.parity.passed
    assert "saved_model/saved_model.pb" in zipfile.ZipFile(built.path).namelist()


def test_a_keras_model_becomes_an_onnx_package_through_tf2onnx(keras_dir, tmp_path):
    built = build("onnx", keras_dir, tmp_path, tolerance=1e-4, on_step=lambda step: None)

    assert built.parity.passed and built.parity.rows == 20 and built.opset == 17
