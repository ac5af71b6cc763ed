"""Checks every package goes through: the ONNX checker, onnxruntime inference, and the parity of the
package's outputs with the original model's on the same rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from packager.formats.results import PackagingFailed, Parity


def as_array(data: Any, dtype: Any = np.float32) -> np.ndarray:
    """The rows as one numeric matrix (a DataFrame's values, a list of lists, an array)."""
    values = data.to_numpy() if hasattr(data, "to_numpy") else data
    try:
        return np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise PackagingFailed(
            f"The input example is not numeric, so it cannot be fed to the package as one {np.dtype(dtype)} "
            f"tensor ({exc})."
        ) from exc


def compare(expected: Any, actual: Any, tolerance: float) -> Parity:
    """Rows, the largest absolute difference between two outputs, and whether it is within the tolerance."""
    want = np.asarray(expected)
    got = np.asarray(actual)
    rows = int(want.shape[0]) if want.ndim else 1
    if want.dtype.kind not in "biuf" or got.dtype.kind not in "biuf":
        mismatches = int(np.sum(want.reshape(-1) != got.reshape(-1))) if want.size == got.size else want.size
        diff = 0.0 if mismatches == 0 else 1.0
    else:
        want = want.astype(np.float64)
        got = got.astype(np.float64)
        if want.size != got.size:
            raise PackagingFailed(
                f"The package answers {got.size} values where the original model answers {want.size} "
                f"(shapes {list(got.shape)} and {list(want.shape)})."
            )
        want, got = want.reshape(-1), got.reshape(-1)
        both_nan = np.isnan(want) & np.isnan(got)
        delta = np.where(both_nan, 0.0, np.abs(want - got))
        diff = float(np.nanmax(np.where(np.isnan(delta), np.inf, delta))) if delta.size else 0.0
    return Parity(rows=rows, max_abs_diff=diff, passed=diff <= tolerance, tolerance=tolerance)


def check_onnx(path: Path) -> tuple[int | None, dict]:
    """onnx.checker with full_check (shape inference included); the default-domain opset and the graph's
    inputs and outputs."""
    import onnx  # imported in the packaging child only

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except Exception as exc:
        raise PackagingFailed(f"The ONNX package does not pass the ONNX checker: {_first_line(exc)}") from exc
    model = onnx.load(str(path), load_external_data=False)
    opsets = {entry.domain or "ai.onnx": int(entry.version) for entry in model.opset_import}
    io = {
        "opsets": opsets,
        "inputs": [_value_info(onnx, value) for value in model.graph.input],
        "outputs": [_value_info(onnx, value) for value in model.graph.output],
    }
    return opsets.get("ai.onnx"), io


def _value_info(onnx: Any, value: Any) -> dict:
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type":
        return {"name": value.name, "type": kind, "shape": None}
    tensor = value.type.tensor_type
    shape = None
    if tensor.HasField("shape"):
        shape = [
            dim.dim_value if dim.HasField("dim_value") else (dim.dim_param or None)
            for dim in tensor.shape.dim
        ]
    type_name = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).name if tensor.elem_type else None
    return {"name": value.name, "type": type_name, "shape": shape}


def run_onnx(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The package's outputs on the rows, through onnxruntime (CPU)."""
    import onnxruntime as ort  # imported in the packaging child only

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, feeds)
    except Exception as exc:
        raise PackagingFailed(f"onnxruntime could not run the ONNX package: {_first_line(exc)}") from exc


def input_names(path: Path) -> list[str]:
    import onnxruntime as ort  # imported in the packaging child only

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [value.name for value in session.get_inputs()]


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"
