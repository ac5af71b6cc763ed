"""No import cycle between any two modules of ours (import-linter checks the layers and the cycles inside one
package; this checks the whole graph). The rules are import-linter's, from pyproject: every import counts, at
module level or inside a function alike, except those under `if TYPE_CHECKING:`."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "registry_ui",
    "common",
    "audit",
    "accounts",
    "mirror",
    "cards",
    "compare",
    "packager",
    "approvals",
    "lineage",
    "events",
    "demo",
    "registry_cli",
)


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative: the sets of two or more modules that import each other, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def import_graph() -> dict[str, set[str]]:
    built = grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=True)
    ours = {m for m in built.modules if ".migrations" not in m}
    return {m: set(built.find_modules_directly_imported_by(m)) & ours for m in ours}


def test_the_cycle_finder_finds_a_cycle_and_only_the_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [{"a", "b", "c"}]


@pytest.mark.postgres_pass_only
def test_no_import_cycle_between_modules_of_ours(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    cycles = [sorted(c) for c in strongly_connected(import_graph())]
    assert cycles == [], f"import cycles: {cycles}"


def test_the_mirrors_pages_get_governance_and_card_panels_through_slots_not_their_templates_or_tags():
    for page in sorted((ROOT / "templates" / "registry_ui").glob("*.html")):
        text = page.read_text()
        assert '"approvals/' not in text and "approvals_tags" not in text, page.name
        assert '"cards/' not in text and "{% load cards" not in text, page.name


OURS = set(PACKAGES)


def function_local_imports_without_a_reason(path: Path) -> list[str]:
    """Imports of our modules inside a function with no comment saying why: on the import's line, or on the
    line just above its block of imports."""
    lines = path.read_text().splitlines()
    found = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.ImportFrom):
                module = "." if sub.level else (sub.module or "")
            elif isinstance(sub, ast.Import):
                module = sub.names[0].name
            else:
                continue
            if module != "." and module.split(".")[0] not in OURS:
                continue
            at = sub.lineno - 1
            if "#" in lines[at]:
                continue
            above = at - 1
            while above >= 0 and (
                not lines[above].strip() or lines[above].strip().startswith(("from ", "import "))
            ):
                above -= 1
            if above < 0 or not lines[above].strip().startswith("#"):
                found.append(f"{path.relative_to(ROOT)}:{sub.lineno}")
    return found


def test_function_local_imports_of_our_modules_say_why():
    files = [
        path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    ]
    assert [hit for path in files for hit in function_local_imports_without_a_reason(path)] == []
