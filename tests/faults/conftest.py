"""The fault suite: real processes (PostgreSQL, Redis, a real `mlflow server`, Celery workers) killed, restarted
or cut off in the middle of work, then the outcome counted. Each scenario records one row through
`fault_table(scenario, operations, lost, duplicated)`; the table is printed at the end of the run and every
test asserts its own lost and duplicated counts are 0.

The suite runs once, in the PostgreSQL pass (`postgres_pass_only`): it is about processes dying, and the
databases' side of the same code paths runs on both passes elsewhere."""

from __future__ import annotations

import fcntl
import os
from dataclasses import astuple, dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).parent
FAULT_ROW = "fault_row"  # the user_properties name of a row


@dataclass(frozen=True)
class FaultRow:
    scenario: str
    operations: int
    lost: int
    duplicated: int


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.postgres_pass_only)


@pytest.fixture(autouse=True)
def one_scenario_at_a_time(tmp_path_factory):
    """Scenarios kill workers, stop servers and load the machine on purpose: under pytest-xdist (`make test`)
    they take turns across the workers, through a lock in the run's shared temporary directory. The other
    worker meanwhile runs other tests. fcntl releases the lock if the worker dies."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # pytest-of-<user>/pytest-<n>/, the workers' popen-gw<i>/ directories' parent
    with (root / "fault-suite.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture
def fault_table(request):
    """`record(scenario, operations, lost, duplicated)`: one row of the printed fault table. The row travels
    with the test's report (user_properties), so that tests/conftest.py prints it in the process that reports,
    xdist's controller included."""

    def record(scenario: str, operations: int, lost: int, duplicated: int) -> FaultRow:
        row = FaultRow(scenario, operations, lost, duplicated)
        request.node.user_properties.append((FAULT_ROW, astuple(row)))
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
