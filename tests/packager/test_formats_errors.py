"""What a user is told when a package cannot be built: unsupported formats and flavors, broken artifacts."""

from __future__ import annotations

import pytest

from packager.formats import SUPPORTED_FORMATS, PackagingFailed, UnsupportedFormat, build, check_supported
from tests.support import saved_models

# Conversions touch no database: they run once, in the PostgreSQL pass.
pytestmark = pytest.mark.postgres_pass_only


def test_an_unknown_format_is_refused_naming_the_supported_ones():
    with pytest.raises(UnsupportedFormat) as refused:
        check_supported("pickle", ["python_function", "sklearn"])

    assert "'pickle' is not a package format" in str(refused.value)
    assert all(fmt in str(refused.value) for fmt in SUPPORTED_FORMATS)


def test_a_format_the_flavor_cannot_take_names_the_formats_it_can():
    with pytest.raises(UnsupportedFormat) as refused:
        check_supported("torchscript", ["python_function", "sklearn"])

    assert str(refused.value) == (
        "A sklearn model cannot be packaged as torchscript: the supported formats for it are onnx, joblib."
    )


def test_a_model_with_only_a_python_function_flavor_cannot_be_packaged():
    with pytest.raises(UnsupportedFormat, match=r"flavors \(python_function\) cannot be packaged"):
        check_supported("onnx", ["python_function"])


def test_sklearn_formats_are_supported_out_of_the_box():
    check_supported("onnx", ["python_function", "sklearn"])
    check_supported("joblib", ["sklearn"])


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return saved_models.logistic_regression(tmp_path_factory.mktemp("broken") / "model")


def test_a_corrupted_model_file_fails_with_a_sentence(model_dir, tmp_path):
    broken = tmp_path / "model"
    broken.mkdir()
    for path in model_dir.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    (broken / "model.pkl").write_bytes(b"PK\x03\x04 this is not a model" * 10)

    with pytest.raises(PackagingFailed) as failure:
        build("onnx", broken, tmp_path / "out", tolerance=1e-4, on_step=lambda step: None)

    assert str(failure.value).startswith(
        "The sklearn model's files could not be loaded: the artifact is corrupt"
    )


def test_a_directory_without_an_mlmodel_file_fails_with_a_sentence(tmp_path):
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04N.")

    with pytest.raises(PackagingFailed, match="no MLmodel file: this is not an MLflow model directory"):
        build("onnx", tmp_path, tmp_path / "out", tolerance=1e-4, on_step=lambda step: None)


def test_a_format_the_model_cannot_take_is_refused_by_the_build_too(model_dir, tmp_path):
    with pytest.raises(UnsupportedFormat, match="cannot be packaged as savedmodel"):
        build("savedmodel", model_dir, tmp_path, tolerance=1e-4, on_step=lambda step: None)
