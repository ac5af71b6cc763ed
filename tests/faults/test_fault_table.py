from tests.faults.conftest import FaultRow, format_table


def test_the_fault_table_lines_up_its_columns():
    lines = format_table([FaultRow("MLflow killed during a full sync", 120, 0, 0), FaultRow("x", 5, 0, 0)])
    assert lines[0].split() == ["scenario", "operations", "lost", "duplicated"]
    assert set(lines[1]) == {"-"}
    assert len({len(line) for line in lines}) == 1
    assert lines[2].startswith("MLflow killed during a full sync") and lines[2].endswith("0")
