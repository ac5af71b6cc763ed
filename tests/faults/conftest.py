"""The fault suite: real processes (PostgreSQL, Redis, a real `mlflow server`, Celery workers) killed, restarted
or cut off in the middle of work, then the outcome counted. Each scenario records one row through
`fault_table(scenario, operations, lost, duplicated)`; the table is printed at the end of the run and every
test asserts its own lost and duplicated counts are 0.

The suite runs once, in the PostgreSQL pass (`postgres_pass_only`): it is about processes dying, and the
databases' side of the same code paths runs on both passes elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@dataclass(frozen=True)
class FaultRow:
    scenario: str
    operations: int
    lost: int
    duplicated: int


ROWS: list[FaultRow] = []


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.postgres_pass_only)


@pytest.fixture
def fault_table():
    """`record(scenario, operations, lost, duplicated)`: one row of the printed fault table."""

    def record(scenario: str, operations: int, lost: int, duplicated: int) -> FaultRow:
        row = FaultRow(scenario, operations, lost, duplicated)
        ROWS.append(row)
        return row

    return record


def format_table(rows: list[FaultRow]) -> list[str]:
    header = ("scenario", "operations", "lost", "duplicated")
    cells = [header, *((r.scenario, str(r.operations), str(r.lost), str(r.duplicated)) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = []
    for n, c in enumerate(cells):
        lines.append(c[0].ljust(widths[0]) + "  " + "  ".join(c[i].rjust(widths[i]) for i in range(1, 4)))
        if n == 0:
            lines.append("-" * len(lines[0]))
    return lines


def pytest_terminal_summary(terminalreporter):
    if not ROWS:
        return
    terminalreporter.section("fault suite")
    for line in format_table(ROWS):
        terminalreporter.write_line(line)
