"""What a packaging build answers: the package, its inputs and outputs, and its parity with the original model.

Plain data and exceptions only (no Django, no ML library): the sandboxed child process and the worker that
started it both import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SUPPORTED_FORMATS = ("onnx", "torchscript", "joblib", "savedmodel")
STEPS = ("loading", "converting", "validating")


class PackagingFailed(Exception):
    """A build that could not finish; ``str(e)`` is a sentence a user understands."""


class UnsupportedFormat(ValueError):
    """A format this server cannot build for the model's flavors; the sentence names the supported ones."""


@dataclass(frozen=True)
class Parity:
    rows: int
    max_abs_diff: float
    passed: bool
    tolerance: float

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "max_abs_diff": self.max_abs_diff,
            "passed": self.passed,
            "tolerance": self.tolerance,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Parity:
        return cls(
            rows=int(data["rows"]),
            max_abs_diff=float(data["max_abs_diff"]),
            passed=bool(data["passed"]),
            tolerance=float(data["tolerance"]),
        )


class ParityFailed(PackagingFailed):
    """The package predicts differently from the original model (beyond the tolerance)."""

    def __init__(self, message: str, parity: Parity) -> None:
        super().__init__(message)
        self.parity = parity


def parity_sentence(parity: Parity) -> str:
    return (
        f"The package's predictions differ from the original model's by up to {parity.max_abs_diff:.3g} "
        f"on {parity.rows} rows of the input example, more than the tolerance {parity.tolerance:g}."
    )


@dataclass(frozen=True)
class Built:
    """The package file (one file per format: a SavedModel is zipped), its opset (ONNX only), its inputs and
    outputs (names, types, shapes) and its parity with the original model."""

    path: Path
    opset: int | None
    io: dict
    parity: Parity | None
