"""The performance report's pure parts (bench/reporting.py): reading a benchmark's `name: value` lines, the
quick arguments bench/README.md documents, judging figures against baselines, writing the markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.reporting import (
    BENCHMARKS,
    TARGETS,
    BenchRun,
    Check,
    Report,
    judge,
    make_targets,
    number,
    parse_figures,
    quick_args,
    render_markdown,
)

pytestmark = pytest.mark.postgres_pass_only  # no database

REPO = Path(__file__).resolve().parents[2]

PAGES_OUTPUT = """\
services: PostgreSQL, Redis and Chromium are ready
# mirrored 100 versions of pages-model-000
DATABASE_URL=postgres://x .venv/bin/python bench/pages.py --versions 100
versions: 100
our_page_ms: 30.000
mlflow_model_page_ms: 60.000
our_version_page_ms: 45.000
mlflow_version_page_ms: 30.000
model_page_ratio: 0.500
ratio: 1.500
"""


def test_parser_keeps_figures_in_order_and_ignores_progress_and_make_lines():
    figures = parse_figures(PAGES_OUTPUT)

    assert list(figures) == [
        "versions", "our_page_ms", "mlflow_model_page_ms", "our_version_page_ms", "mlflow_version_page_ms",
        "model_page_ratio", "ratio",
    ]  # fmt: skip
    assert figures["our_page_ms"] == "30.000"


def test_parser_keeps_a_value_with_its_unit_and_note_and_the_last_of_a_repeated_name():
    figures = parse_figures("render_cached_ms: 0.281 ms (target <= 5.0 ms: ok)\nratio: 1\nratio: 2\n")

    assert figures == {"render_cached_ms": "0.281 ms (target <= 5.0 ms: ok)", "ratio": "2"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("30.000", 30.0), ("0.281 ms (target <= 5.0 ms: ok)", 0.281), ("1e-3", 0.001), ("-2", -2.0),
     ("yes", None), ("True", None), ("", None), (None, None)],
)  # fmt: skip
def test_number_reads_the_number_a_value_starts_with(raw, expected):
    assert number(raw) == expected


def test_quick_args_come_from_the_readme_rows_of_exactly_one_make_target():
    readme = """
| command | what | quick run |
|---|---|---|
| `make bench-sync` | full sync | `.venv/bin/python bench/sync.py --models 5 --versions 10` |
| `make bench-sync BENCH_ARGS="--versions-total 10000"` | the same, larger | |
| `make bench-cards` | cards | `.venv/bin/python bench/cards.py` (no smaller form) |
| `make bench-pages` | pages | |
"""
    assert quick_args(readme) == {"sync": "--models 5 --versions 10", "cards": ""}


def test_the_readme_documents_a_quick_run_for_every_benchmark_the_report_knew_at_first():
    documented = quick_args((REPO / "bench" / "README.md").read_text())

    first_ten = TARGETS[:10]
    assert set(first_ten) <= set(documented), set(first_ten) - set(documented)
    assert documented["pages"] == "--versions 100 --repeats 5"


def test_make_targets_lists_the_bench_targets_a_makefile_defines():
    makefile = (
        "bench-pages: venv services\n\tpython x\nbench-load:\n\tpython y\nrun: venv\n.PHONY: bench-sync\n"
    )

    assert make_targets(makefile) == {"pages", "load"}


def test_a_figure_against_a_baseline_of_the_same_run():
    check = BENCHMARKS["pages"].checks[1]  # version page / MLflow's get version + get run
    verdict = judge(check, parse_figures(PAGES_OUTPUT))

    assert (verdict.value, verdict.baseline_value, verdict.ratio) == (45.0, 30.0, 1.5)
    assert verdict.outcome == "miss"
    assert judge(BENCHMARKS["pages"].checks[0], parse_figures(PAGES_OUTPUT)).outcome == "pass"


def test_a_figure_against_a_fixed_target_and_one_where_more_is_better():
    slow = judge(Check("first view", "first_view_ms", 500, 1.0), {"first_view_ms": "250"})
    few = judge(Check("append", "events_per_s", 1000, 1.0, higher_is_better=True), {"events_per_s": "800"})

    assert (slow.ratio, slow.outcome) == (0.5, "pass")
    assert (few.ratio, few.outcome) == (0.8, "miss")


def test_a_target_the_benchmark_prints_itself_wins_over_the_default():
    check = BENCHMARKS["sync"].checks[0]  # default 1.2
    figures = {"full_sync_seconds_median": "12.5", "floor_read_seconds": "10", "target_ratio": "1.3"}

    verdict = judge(check, figures)

    assert (verdict.target, verdict.outcome) == (1.3, "pass")


def test_a_figure_that_is_a_ratio_already_and_a_figure_not_printed():
    check = BENCHMARKS["reconcile"].checks[0]

    assert judge(check, {"reconcile_ratio": "0.05"}).outcome == "pass"
    missing = judge(check, {})
    assert (missing.ratio, missing.outcome) == (None, "not printed")
    assert (
        judge(BENCHMARKS["pages"].checks[0], {"our_page_ms": "3", "mlflow_model_page_ms": "0"}).ratio is None
    )


def _report(**overrides) -> Report:
    fields = dict(
        quick=True,
        started="2026-11-30 22:00:00",
        finished="2026-11-30 22:10:00",
        code="`abc123`",
        machine={"CPU": "Some CPU, 2 cores", "PostgreSQL / Redis": "15.2 / 7.0"},
        load_before=(1.0, 2.0, 3.0),
        load_after=(4.0, 5.0, 6.0),
        runs=[
            BenchRun(
                "pages",
                "ran",
                command='make bench-pages BENCH_ARGS="--versions 100 --repeats 5"',
                stdout=PAGES_OUTPUT,
                seconds=95,
                load_before=(1.0, 1.0, 1.0),
                load_after=(2.0, 2.0, 2.0),
            ),
            BenchRun("sync", "failed (exit 2)", command="make bench-sync", error_tail="Traceback: boom"),
            BenchRun("reconcile", "not available"),
        ],
    )
    fields.update(overrides)
    return Report(**fields)


def test_the_markdown_states_quick_or_full_the_machine_and_the_load():
    quick, full = render_markdown(_report()), render_markdown(_report(quick=False))

    assert "**quick run**" in quick and "**full run**" not in quick
    assert "**full run**" in full
    assert "| CPU | Some CPU, 2 cores |" in quick
    assert "| load average (1/5/15 min) | before 1.00 / 2.00 / 3.00, after 4.00 / 5.00 / 6.00 |" in quick
    assert "2026-11-30 22:00:00 → 2026-11-30 22:10:00" in quick


def test_the_markdown_gives_each_check_its_baseline_ratio_target_and_result_and_the_command():
    text = render_markdown(_report())

    assert 'Reproduce: `make bench-pages BENCH_ARGS="--versions 100 --repeats 5"`' in text
    assert (
        "| version page / MLflow's get version + get run | `our_version_page_ms` | 45.0 ms "
        "| `mlflow_version_page_ms` = 30.0 ms | 1.5 | ≤ 1 | **miss** |"
    ) in text
    assert "| [`bench-pages`](#bench-pages) | 1 of 3 pass (1 not printed) | 95 s |" in text
    assert "| `our_page_ms` | 30.000 |" in text  # every figure printed, in the details


def test_the_markdown_says_when_a_benchmark_failed_or_is_not_available():
    text = render_markdown(_report())

    assert "| [`bench-sync`](#bench-sync) | failed (exit 2) |" in text
    assert "Traceback: boom" in text
    assert "| [`bench-reconcile`](#bench-reconcile) | not available | — | — |" in text
    assert "Not available: this Makefile has no `bench-reconcile` target yet." in text
