"""TensorFlow/Keras models as a SavedModel package (zipped: a package is one file) or ONNX through tf2onnx."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from packager.formats.results import Built, PackagingFailed
from packager.formats.validate import as_array, check_onnx, compare, input_names, run_onnx


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:240]


def _predict(model: Any, features: np.ndarray) -> np.ndarray:
    try:
        output = model(features, training=False)
    except Exception as exc:
        raise PackagingFailed(
            f"The Keras model could not run on its input example ({type(exc).__name__}: {_first_line(exc)})."
        ) from exc
    if isinstance(output, dict | list | tuple):
        output = next(iter(output.values())) if isinstance(output, dict) else output[0]
    return np.asarray(output)


def _zip_dir(folder: Path, target: Path) -> None:
    """Files in name order with a fixed timestamp: the same SavedModel zips to the same bytes."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(folder.parent)), date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def to_savedmodel(
    model: Any, rows: Any, out_dir: Path, tolerance: float, step: Callable[[str], None]
) -> Built:
    import tensorflow as tf  # the [tensorflow] extra, imported in the packaging child only

    features = as_array(rows)
    expected = _predict(model, features)
    step("converting")
    folder = out_dir / "saved_model"
    try:
        model.export(str(folder), format="tf_saved_model", verbose=False)
    except Exception as exc:
        raise PackagingFailed(
            f"Keras could not export this model as a SavedModel ({_first_line(exc)})."
        ) from exc
    step("validating")
    reloaded = tf.saved_model.load(str(folder))  # held: its variables die with it
    served = reloaded.serve(tf.constant(features))
    actual = np.asarray(served[0] if isinstance(served, list | tuple) else served)
    path = out_dir / "saved_model.zip"
    _zip_dir(folder, path)
    io = {
        "inputs": [{"name": "input", "type": features.dtype.name, "shape": [None, *features.shape[1:]]}],
        "outputs": [{"name": "serve", "type": actual.dtype.name, "shape": [None, *actual.shape[1:]]}],
        "compared": "serve",
    }
    return Built(path=path, opset=None, io=io, parity=compare(expected, actual, tolerance))


def to_onnx(model: Any, rows: Any, out_dir: Path, tolerance: float, step: Callable[[str], None]) -> Built:
    import tensorflow as tf  # the [tensorflow] extra, imported in the packaging child only
    import tf2onnx

    features = as_array(rows)
    expected = _predict(model, features)
    step("converting")
    spec = (tf.TensorSpec((None, *features.shape[1:]), tf.float32, name="input"),)
    # tf2onnx's from_keras does not read Keras 3 models: the model's call as a concrete tf.function instead.
    function = tf.function(tf.autograph.experimental.do_not_convert(lambda t: model(t, training=False)))
    path = out_dir / "model.onnx"
    try:
        tf2onnx.convert.from_function(function, input_signature=spec, opset=17, output_path=str(path))
    except Exception as exc:
        raise PackagingFailed(
            f"tf2onnx cannot convert this Keras model to ONNX ({_first_line(exc)})."
        ) from exc
    step("validating")
    opset, io = check_onnx(path)
    actual = run_onnx(path, {input_names(path)[0]: features})[0]
    io["compared"] = "output"
    return Built(path=path, opset=opset, io=io, parity=compare(expected, actual, tolerance))
