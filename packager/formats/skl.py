"""scikit-learn models and pipelines as ONNX (skl2onnx, classifiers without ZipMap) or joblib."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from packager.formats.results import Built, PackagingFailed
from packager.formats.validate import as_array, check_onnx, compare, run_onnx


def predictions(model: Any, rows: Any) -> tuple[str, np.ndarray]:
    """What parity compares: class probabilities for a classifier, else predictions, else the transform."""
    for method in ("predict_proba", "predict", "transform"):
        if hasattr(model, method):
            try:
                return method, np.asarray(getattr(model, method)(rows))
            except Exception as exc:
                raise PackagingFailed(
                    f"The original model could not {method.replace('_', ' ')} its input example "
                    f"({type(exc).__name__}: {exc})."
                ) from exc
    raise PackagingFailed(f"A {type(model).__name__} has no predict_proba, predict or transform to check.")


def _classifiers(model: Any) -> list[Any]:
    """The model and every estimator nested in it (pipeline steps, ensembles' members) that is a classifier."""
    found = []
    stack = [model]
    while stack:
        item = stack.pop()
        if getattr(item, "_estimator_type", None) == "classifier" or hasattr(item, "classes_"):
            found.append(item)
        for _, child in getattr(item, "steps", None) or ():
            stack.append(child)
        for entry in getattr(item, "transformers", None) or ():
            stack.append(entry[1])
    return found


def to_onnx(model: Any, rows: Any, out_dir: Path, tolerance: float, step: Callable[[str], None]) -> Built:
    from skl2onnx import convert_sklearn  # the converter, imported only in the packaging child
    from skl2onnx.common.data_types import FloatTensorType

    features = as_array(rows)
    if features.ndim != 2:
        raise PackagingFailed(
            f"The input example has shape {list(features.shape)}; a table of rows is expected."
        )
    step("converting")
    options = {id(item): {"zipmap": False} for item in _classifiers(model)}
    try:
        proto = convert_sklearn(
            model,
            initial_types=[("input", FloatTensorType([None, features.shape[1]]))],
            options=options or None,
        )
    except Exception as exc:
        raise PackagingFailed(
            f"skl2onnx cannot convert this {type(model).__name__} to ONNX ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''})."
        ) from exc
    path = out_dir / "model.onnx"
    path.write_bytes(proto.SerializeToString())
    step("validating")
    opset, io = check_onnx(path)
    method, expected = predictions(model, rows)
    outputs = run_onnx(path, {"input": features})
    actual = outputs[1] if method == "predict_proba" and len(outputs) > 1 else outputs[0]
    io["compared"] = method
    return Built(path=path, opset=opset, io=io, parity=compare(expected, actual, tolerance))


def describe_rows(rows: Any) -> list[dict]:
    if hasattr(rows, "dtypes"):
        return [
            {"name": str(name), "type": str(dtype), "shape": [None]} for name, dtype in rows.dtypes.items()
        ]
    array = np.asarray(rows)
    return [{"name": "input", "type": array.dtype.name, "shape": [None, *array.shape[1:]]}]


def to_joblib(model: Any, rows: Any, out_dir: Path, tolerance: float, step: Callable[[str], None]) -> Built:
    import joblib  # comes with scikit-learn

    step("converting")
    path = out_dir / "model.joblib"
    joblib.dump(model, path, compress=3)
    step("validating")
    try:
        reloaded = joblib.load(path)
    except Exception as exc:
        raise PackagingFailed(
            f"The joblib package could not be loaded back ({type(exc).__name__}: {exc})."
        ) from exc
    method, expected = predictions(model, rows)
    _, actual = predictions(reloaded, rows)
    io = {
        "inputs": describe_rows(rows),
        "outputs": [{"name": method, "type": actual.dtype.name, "shape": [None, *actual.shape[1:]]}],
        "compared": method,
    }
    return Built(path=path, opset=None, io=io, parity=compare(expected, actual, tolerance))
