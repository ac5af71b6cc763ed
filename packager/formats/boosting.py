"""XGBoost and LightGBM models as ONNX (onnxmltools), classifiers without ZipMap."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from packager.formats.results import Built, PackagingFailed
from packager.formats.validate import as_array, check_onnx, compare, run_onnx


def _expected(model: Any, features: np.ndarray) -> tuple[str, np.ndarray]:
    """Probabilities of a scikit-learn-API classifier, else predictions (a native Booster's raw output)."""
    if hasattr(model, "predict_proba"):
        return "predict_proba", np.asarray(model.predict_proba(features))
    if type(model).__module__.startswith("xgboost"):
        import xgboost  # the [boosting] extra, imported in the packaging child only

        return "predict", np.asarray(model.predict(xgboost.DMatrix(features)))
    return "predict", np.asarray(model.predict(features))


def _unnamed(model: Any) -> Any:
    """A copy whose booster names its features f0, f1, ... (the converter reads no other names; the ONNX input
    is one tensor in column order anyway)."""
    clone = copy.deepcopy(model)
    booster = clone.get_booster() if hasattr(clone, "get_booster") else clone
    booster.feature_names = None
    return clone


def to_onnx(model: Any, rows: Any, out_dir: Path, tolerance: float, step: Callable[[str], None]) -> Built:
    import onnxmltools  # the [boosting] extra, imported in the packaging child only
    from onnxmltools.convert.common.data_types import FloatTensorType

    features = as_array(rows)
    method, expected = _expected(model, features)
    step("converting")
    types = [("input", FloatTensorType([None, features.shape[1]]))]
    xgb = type(model).__module__.startswith("xgboost")
    try:
        if xgb:
            proto = onnxmltools.convert_xgboost(_unnamed(model), initial_types=types)
        else:
            proto = onnxmltools.convert_lightgbm(model, initial_types=types, zipmap=False)
    except Exception as exc:
        library = "XGBoost" if xgb else "LightGBM"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:240]
        raise PackagingFailed(
            f"onnxmltools cannot convert this {library} {type(model).__name__} ({first})."
        ) from exc
    path = out_dir / "model.onnx"
    path.write_bytes(proto.SerializeToString())
    step("validating")
    opset, io = check_onnx(path)
    outputs = run_onnx(path, {"input": features})
    actual = outputs[1] if method == "predict_proba" and len(outputs) > 1 else outputs[0]
    if method == "predict" and actual.ndim == 2 and actual.shape[1] == 1:
        actual = actual[:, 0]
    io["compared"] = method
    return Built(path=path, opset=opset, io=io, parity=compare(expected, actual, tolerance))
