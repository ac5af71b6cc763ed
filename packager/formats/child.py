"""The sandboxed packaging process: load the model, convert it, validate the package, answer as JSON lines.

Started by packager.formats.sandbox with a scrubbed environment, a temporary working directory and
`python -I`; the request is argv[1] (JSON). Its first act, before anything of the model is read, is to set
its own resource limits (CPU time, address space, file size, no core dumps). It writes one JSON object per
line to the file descriptor the request names: {"step": ...} as it goes, then {"result": ...} or
{"error": {"kind", "message", "parity"?}}. Library chatter goes to stdout/stderr, which the parent keeps
apart (a tail of stderr explains a crash).
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from packager.formats.results import (
    Built,
    PackagingFailed,
    ParityFailed,
    UnsupportedFormat,
    parity_sentence,
)
from packager.formats.support import check_supported, pick_flavor

# (flavor, format) -> "module:function" building the package, imported only when used (torch and TensorFlow
# take seconds to import).
CONVERTERS: dict[tuple[str, str], str] = {
    ("sklearn", "onnx"): "packager.formats.skl:to_onnx",
    ("sklearn", "joblib"): "packager.formats.skl:to_joblib",
    ("onnx", "onnx"): "packager.formats.onnx_flavor:as_is",
    ("pytorch", "onnx"): "packager.formats.torch_formats:to_onnx",
    ("pytorch", "torchscript"): "packager.formats.torch_formats:to_torchscript",
    ("keras", "savedmodel"): "packager.formats.keras_formats:to_savedmodel",
    ("keras", "onnx"): "packager.formats.keras_formats:to_onnx",
    ("tensorflow", "savedmodel"): "packager.formats.keras_formats:to_savedmodel",
    ("tensorflow", "onnx"): "packager.formats.keras_formats:to_onnx",
    ("xgboost", "onnx"): "packager.formats.boosting:to_onnx",
    ("lightgbm", "onnx"): "packager.formats.boosting:to_onnx",
}


def set_limits(limits: dict) -> None:
    """CPU seconds (SIGXCPU at the soft limit, SIGKILL 5 s later), address space, largest file, no core."""
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    memory = int(limits["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = int(limits["file_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def model_flavors(model_dir: Path) -> list[str]:
    mlmodel = model_dir / "MLmodel"
    if not mlmodel.is_file():
        raise PackagingFailed(
            "The model's artifacts have no MLmodel file: this is not an MLflow model directory."
        )
    try:
        meta = yaml.safe_load(mlmodel.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PackagingFailed(f"The model's MLmodel file is not valid YAML ({type(exc).__name__}).") from exc
    flavors = meta.get("flavors") if isinstance(meta, dict) else None
    return sorted(flavors) if isinstance(flavors, dict) else []


def build(fmt: str, model_dir: Path, out_dir: Path, tolerance: float, step: Callable[[str], None]) -> Built:
    # The loader imports mlflow (slow): only once the request has been checked.
    from packager.formats import loaders  # the one module allowed to call MLflow's flavor loaders

    flavors = model_flavors(model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_supported(fmt, flavors)
    flavor = pick_flavor(fmt, flavors)
    step("loading")
    model = loaders.load_model(flavor, model_dir)
    rows = loaders.input_rows(model_dir)
    module_name, function_name = CONVERTERS[(flavor, fmt)].split(":")
    convert = getattr(importlib.import_module(module_name), function_name)
    built = convert(model, rows, out_dir, tolerance, step)
    if built.parity is not None and not built.parity.passed:
        raise ParityFailed(parity_sentence(built.parity), built.parity)
    return built


def answer(request: dict, send: Callable[[dict], None]) -> None:
    try:
        built = build(
            request["format"],
            Path(request["model_dir"]),
            Path(request["out_dir"]),
            float(request["tolerance"]),
            lambda name: send({"step": name}),
        )
    except ParityFailed as exc:
        send({"error": {"kind": "parity", "message": str(exc), "parity": exc.parity.as_dict()}})
    except PackagingFailed as exc:
        send({"error": {"kind": "failed", "message": str(exc)}})
    except UnsupportedFormat as exc:
        send({"error": {"kind": "unsupported", "message": str(exc)}})
    except MemoryError:
        send({"error": {"kind": "memory", "message": ""}})
    except Exception as exc:
        text = " ".join(str(exc).split())[:300]
        send({"error": {"kind": "failed", "message": f"Packaging failed ({type(exc).__name__}: {text})."}})
    else:
        parity = built.parity.as_dict() if built.parity is not None else None
        send({"result": {"path": str(built.path), "opset": built.opset, "io": built.io, "parity": parity}})


def main() -> None:
    request = json.loads(sys.argv[1])
    set_limits(request["limits"])
    channel = os.fdopen(int(request["fd"]), "w", buffering=1)

    def send(message: dict) -> None:
        channel.write(json.dumps(message, default=str) + "\n")
        channel.flush()

    answer(request, send)
    channel.close()


if __name__ == "__main__":
    main()
