"""`registry` (registry_cli/) is installed alone by `pip install .`: it imports the standard library, requests
and itself, nothing else (no Django; import-linter forbids our packages too)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = set(sys.stdlib_module_names) | {"requests", "registry_cli", "__future__"}


def test_the_cli_imports_only_the_standard_library_and_requests():
    found = set()
    for path in (ROOT / "registry_cli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                found.add((node.module or "").split(".")[0])
    assert found - ALLOWED == set()


def test_running_the_cli_loads_no_django():
    code = "import sys, registry_cli.main; assert not any(m.startswith('django') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
