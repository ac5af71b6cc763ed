"""Which formats each MLflow flavor can be packaged as, and which optional libraries each build needs.

Pure and cheap: a request is checked here (a 400 naming the supported formats) before any job is queued.
"""

from __future__ import annotations

import importlib.util

from packager.formats.results import SUPPORTED_FORMATS, UnsupportedFormat

# Flavor -> formats it packages as, in the order the flavors are tried when a model has several.
FORMATS_BY_FLAVOR: dict[str, tuple[str, ...]] = {
    "onnx": ("onnx",),
    "sklearn": ("onnx", "joblib"),
    "pytorch": ("onnx", "torchscript"),
    "keras": ("savedmodel", "onnx"),
    "tensorflow": ("savedmodel", "onnx"),
    "xgboost": ("onnx",),
    "lightgbm": ("onnx",),
}

# (flavor, format) -> the modules the build imports, and the extra of pyproject.toml that installs them.
_NEEDS: dict[tuple[str, str], tuple[tuple[str, ...], str | None]] = {
    ("onnx", "onnx"): (("onnx", "onnxruntime"), None),
    ("sklearn", "onnx"): (("onnx", "onnxruntime", "skl2onnx", "sklearn"), None),
    ("sklearn", "joblib"): (("joblib", "sklearn"), None),
    ("pytorch", "onnx"): (("torch", "onnx", "onnxruntime"), "torch"),
    ("pytorch", "torchscript"): (("torch",), "torch"),
    ("keras", "savedmodel"): (("tensorflow",), "tensorflow"),
    ("keras", "onnx"): (("tensorflow", "tf2onnx", "onnx", "onnxruntime"), "tensorflow"),
    ("tensorflow", "savedmodel"): (("tensorflow",), "tensorflow"),
    ("tensorflow", "onnx"): (("tensorflow", "tf2onnx", "onnx", "onnxruntime"), "tensorflow"),
    ("xgboost", "onnx"): (("xgboost", "onnxmltools", "onnx", "onnxruntime"), "boosting"),
    ("lightgbm", "onnx"): (("lightgbm", "onnxmltools", "onnx", "onnxruntime"), "boosting"),
}


def _listed(items) -> str:
    return ", ".join(items)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def pick_flavor(fmt: str, flavors: list[str]) -> str:
    """The model flavor a package of `fmt` is built from, or UnsupportedFormat with a sentence."""
    if fmt not in SUPPORTED_FORMATS:
        raise UnsupportedFormat(
            f"'{fmt}' is not a package format this server builds: the supported formats are "
            f"{_listed(SUPPORTED_FORMATS)}."
        )
    known = [flavor for flavor in FORMATS_BY_FLAVOR if flavor in flavors]
    if not known:
        shown = _listed(sorted(flavors)) or "none"
        raise UnsupportedFormat(
            f"This version's flavors ({shown}) cannot be packaged: packages are built from "
            f"{_listed(FORMATS_BY_FLAVOR)} models, as {_listed(SUPPORTED_FORMATS)}."
        )
    for flavor in known:
        if fmt in FORMATS_BY_FLAVOR[flavor]:
            return flavor
    possible = sorted({f for flavor in known for f in FORMATS_BY_FLAVOR[flavor]}, key=SUPPORTED_FORMATS.index)
    raise UnsupportedFormat(
        f"A {known[0]} model cannot be packaged as {fmt}: the supported formats for it are {_listed(possible)}."
    )


def check_supported(fmt: str, flavors: list[str]) -> None:
    """UnsupportedFormat (a sentence naming the supported formats) unless this server can build `fmt` for a
    model with these MLflow flavors, its optional libraries included."""
    flavor = pick_flavor(fmt, flavors)
    modules, extra = _NEEDS[(flavor, fmt)]
    missing = [module for module in modules if not _installed(module)]
    if missing:
        how = f"the optional '{extra}' extra (pip install '.[{extra}]')" if extra else "its runtime libraries"
        raise UnsupportedFormat(
            f"Packaging a {flavor} model as {fmt} needs {how}, which this server does not have installed "
            f"(missing: {_listed(missing)})."
        )
