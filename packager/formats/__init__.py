"""Package formats: build a portable package of a downloaded MLflow model and prove it predicts the same.

    check_supported(fmt, flavors)     UnsupportedFormat (a 400) unless this server can build it
    build(fmt, model_dir, out_dir, tolerance=..., on_step=...)  -> Built, in a sandboxed child process

Errors are sentences a user understands: PackagingFailed (ParityFailed carries the measured parity).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from packager.formats.results import (
    SUPPORTED_FORMATS,
    Built,
    PackagingFailed,
    Parity,
    ParityFailed,
    UnsupportedFormat,
)
from packager.formats.sandbox import Limits, run
from packager.formats.support import check_supported

__all__ = [
    "SUPPORTED_FORMATS",
    "Built",
    "Limits",
    "PackagingFailed",
    "Parity",
    "ParityFailed",
    "UnsupportedFormat",
    "build",
    "check_supported",
]


def build(
    fmt: str,
    model_dir: Path,
    out_dir: Path,
    *,
    tolerance: float,
    on_step: Callable[[str], None],
    limits: Limits | None = None,
) -> Built:
    """Load the model of `model_dir` (a downloaded MLflow model directory), write its `fmt` package into
    `out_dir` and check it against the original's predictions on the input example. on_step is called
    with "loading", "converting", "validating" as the sandboxed child reaches them."""
    return run(fmt, Path(model_dir), Path(out_dir), tolerance=tolerance, on_step=on_step, limits=limits)
