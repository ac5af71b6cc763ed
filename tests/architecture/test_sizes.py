"""Size limits (issue 10): no module of ours over 400 lines and no function over 80 lines — product code, tests
and benchmarks alike; generated migrations aside. A module that grows past the limit is split by behaviour, a
function into named steps."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def python_files() -> list[str]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the files of ours are the ones git tracks")
    return [path for path in listed if "/migrations/" not in path and (ROOT / path).exists()]


def module_lines() -> dict[str, int]:
    return {path: len((ROOT / path).read_text().splitlines()) for path in python_files()}


def test_no_module_is_over_400_lines():
    over = {path: n for path, n in module_lines().items() if n > MAX_MODULE_LINES}
    assert over == {}


def test_no_function_is_over_80_lines():
    over = {}
    for path in python_files():
        tree = ast.parse((ROOT / path).read_text(), filename=path)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    over[f"{path}:{node.lineno} {node.name}"] = lines
    assert over == {}
