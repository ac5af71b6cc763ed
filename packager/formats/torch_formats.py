"""PyTorch models as ONNX (torch.onnx: the default exporter, then the TorchScript-based one) or TorchScript."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from packager.formats.results import Built, PackagingFailed
from packager.formats.validate import as_array, check_onnx, compare, run_onnx


def _first_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text[:240]


def runnable(model: Any) -> Any:
    """A module to call, in eval mode. MLflow's "pickle" format loads as the nn.Module itself; its default "pt2"
    format as an ExportedProgram's module (already traced for inference: it refuses eval())."""
    import torch  # the [torch] extra, imported in the packaging child only

    if isinstance(model, torch.export.ExportedProgram):
        return model.module()
    try:
        model.eval()
    except NotImplementedError:
        pass
    return model


def forward(model: Any, tensor: Any) -> np.ndarray:
    """The model's (first) output on the rows, without gradients."""
    import torch  # the [torch] extra, imported in the packaging child only

    try:
        with torch.no_grad():
            output = model(tensor)
    except Exception as exc:
        raise PackagingFailed(
            f"The PyTorch model could not run on its input example ({type(exc).__name__}: {_first_line(exc)})."
        ) from exc
    if isinstance(output, tuple | list):
        output = output[0]
    return output.detach().cpu().numpy()


def _export(model: Any, tensor: Any, path: Path) -> str:
    """The exporter that worked: "dynamo" (torch.onnx's default) or "torchscript" (its fallback)."""
    import torch  # the [torch] extra, imported in the packaging child only

    common = {"input_names": ["input"], "output_names": ["output"]}
    try:
        torch.onnx.export(
            model, (tensor,), str(path), dynamo=True, external_data=False,
            dynamic_shapes=({0: torch.export.Dim("batch")},), **common,
        )  # fmt: skip
        return "dynamo"
    except Exception as default_failed:
        path.unlink(missing_ok=True)
        try:
            torch.onnx.export(
                model, (tensor,), str(path), dynamo=False,
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, **common,
            )  # fmt: skip
            return "torchscript"
        except Exception as exc:
            raise PackagingFailed(
                f"torch.onnx could not export this {type(model).__name__} to ONNX (default exporter: "
                f"{_first_line(default_failed)}; TorchScript-based exporter: {_first_line(exc)})."
            ) from exc


def to_onnx(model: Any, rows: Any, out_dir: Path, tolerance: float, step: Callable[[str], None]) -> Built:
    import torch  # the [torch] extra, imported in the packaging child only

    features = as_array(rows)
    tensor = torch.from_numpy(features)
    module = runnable(model)
    expected = forward(module, tensor)
    step("converting")
    path = out_dir / "model.onnx"
    exporter = _export(module, tensor, path)
    step("validating")
    opset, io = check_onnx(path)
    actual = run_onnx(path, {"input": features})[0]
    io.update(compared="output", exporter=exporter)
    return Built(path=path, opset=opset, io=io, parity=compare(expected, actual, tolerance))


def to_torchscript(
    model: Any, rows: Any, out_dir: Path, tolerance: float, step: Callable[[str], None]
) -> Built:
    import torch  # the [torch] extra, imported in the packaging child only

    features = as_array(rows)
    tensor = torch.from_numpy(features)
    module = runnable(model)
    expected = forward(module, tensor)
    step("converting")
    try:
        compiled, how = torch.jit.script(module), "script"
    except Exception:
        try:
            compiled, how = torch.jit.trace(module, tensor), "trace"
        except Exception as exc:
            raise PackagingFailed(
                f"TorchScript can neither script nor trace this {type(model).__name__} "
                f"({type(exc).__name__}: {_first_line(exc)})."
            ) from exc
    path = out_dir / "model.pt"
    torch.jit.save(compiled, str(path))
    step("validating")
    actual = forward(torch.jit.load(str(path)), tensor)
    io = {
        "inputs": [{"name": "input", "type": features.dtype.name, "shape": [None, *features.shape[1:]]}],
        "outputs": [{"name": "output", "type": actual.dtype.name, "shape": [None, *actual.shape[1:]]}],
        "compared": "output",
        "torchscript": how,
    }
    return Built(path=path, opset=None, io=io, parity=compare(expected, actual, tolerance))
