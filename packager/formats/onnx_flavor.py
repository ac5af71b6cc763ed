"""Models logged with MLflow's onnx flavor: validated as they are (checker, onnxruntime on the example)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from packager.formats.results import Built, PackagingFailed
from packager.formats.validate import as_array, check_onnx, compare, input_names, run_onnx


def feeds_for(path: Path, io: dict, rows: Any) -> dict[str, np.ndarray]:
    """The example as the graph's inputs: a dict example by name, a table's columns by name when the graph
    takes one input per column, else the whole table as the one input (in the input's element type)."""
    names = input_names(path)
    types = {entry["name"]: entry.get("type") or "float32" for entry in io["inputs"]}
    if isinstance(rows, dict):
        return {name: as_array(rows[name], types[name]) for name in names if name in rows}
    columns = [str(column) for column in getattr(rows, "columns", [])]
    if len(names) > 1 and set(names) <= set(columns):
        return {name: as_array(rows[name], types[name]).reshape(-1, 1) for name in names}
    if len(names) != 1:
        raise PackagingFailed(f"The ONNX model takes inputs {names}, which the input example does not name.")
    return {names[0]: as_array(rows, types[names[0]])}


def as_is(model: Any, rows: Any, out_dir: Path, tolerance: float, step: Callable[[str], None]) -> Built:
    step("converting")
    path = out_dir / "model.onnx"
    try:
        # External data is folded into the one file (a package is one file; protobuf caps it at 2 GB).
        path.write_bytes(model.SerializeToString())
    except Exception as exc:
        raise PackagingFailed(f"The ONNX model could not be written as one file ({exc}).") from exc
    step("validating")
    opset, io = check_onnx(path)
    feeds = feeds_for(path, io, rows)
    expected = run_onnx(path, feeds)
    actual = run_onnx(path, feeds)
    io["compared"] = "outputs"
    return Built(path=path, opset=opset, io=io, parity=compare(expected[0], actual[0], tolerance))
