"""The performance report's pure parts: which benchmarks there are and what each one is judged on, reading
their ``name: value`` lines, and writing docs/performance.md. No I/O (bench/report.py runs the benchmarks).

Every benchmark prints ``name: value`` lines on stdout. A check divides one printed figure by its baseline —
another figure of the same run (MLflow doing the same work, the floor read, ``sha256sum``) or, where there is
nothing to compare with, the fixed target — and compares that ratio with the target ratio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TARGETS = (
    "firstview", "sync", "webhook", "pages", "audit", "compare", "cards", "promotion", "lineage", "packaging",
    "load", "reconcile",
)  # fmt: skip


@dataclass(frozen=True)
class Check:
    """``figure / baseline`` against ``target``. The baseline is the name of another figure of the same run,
    a fixed value (the target itself: then the ratio's target is 1), or None when the figure is a ratio
    already. A benchmark that prints its own target (``target_figure``) overrides ``target``."""

    label: str
    figure: str
    baseline: str | float | None
    target: float
    higher_is_better: bool = False
    unit: str = ""
    target_figure: str | None = None


@dataclass(frozen=True)
class Benchmark:
    name: str  # `make bench-<name>`
    script: str
    what: str
    checks: tuple[Check, ...]


def _fixed(label: str, figure: str, target: float, unit: str, *, higher: bool = False) -> Check:
    return Check(label, figure, target, 1.0, higher_is_better=higher, unit=unit)


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("firstview", "bench/firstview.py", "first view of a chart page in Chromium, empty cache", (
            _fixed("first view, median of cold views", "first_view_ms", 500, "ms"),
        )),
        Benchmark("sync", "bench/sync.py", "full sync against the batched REST read of the same registry", (
            Check("full sync / floor read", "full_sync_seconds_median", "floor_read_seconds", 1.2, unit="s",
                  target_figure="target_ratio"),
        )),
        Benchmark("webhook", "bench/webhook.py", "MLflow change to mirror row, through the webhook", (
            _fixed("freshness p50", "p50_seconds", 1.0, "s"),
            _fixed("freshness p95", "p95_seconds", 2.0, "s"),
        )),
        Benchmark("pages", "bench/pages.py", "our pages and API over HTTP against MLflow's server", (
            Check("model page / MLflow's search of every version", "our_page_ms", "mlflow_model_page_ms", 1.0,
                  unit="ms"),
            Check("version page / MLflow's get version + get run", "our_version_page_ms",
                  "mlflow_version_page_ms", 1.0, unit="ms"),
            Check("API list / MLflow's search, same length", "our_api_list_ms", "mlflow_api_list_ms", 1.0,
                  unit="ms"),
        )),
        Benchmark("audit", "bench/audit.py", "audit chain: append and verify", (
            _fixed("append, batched", "append_events_per_s", 1000, "events/s", higher=True),
            _fixed("verify (100,000 in ≤ 5 s)", "verify_events_per_s", 20_000, "events/s", higher=True),
        )),
        Benchmark("compare", "bench/compare.py", "comparison page, API, trend and metric histories", (
            _fixed("compare page", "compare_page_ms", 300, "ms"),
            _fixed("compare API", "compare_api_ms", 300, "ms"),
            _fixed("trend over every version", "trend_ms", 300, "ms"),
            _fixed("overlaid histories", "history_ms", 300, "ms"),
            _fixed("overlaid histories, bytes", "history_bytes", 500_000, "B"),
        )),
        Benchmark("cards", "bench/cards.py", "model cards: render, PDF, zip, worst case", (
            _fixed("cached render", "render_cached_ms", 5, "ms"),
            _fixed("PDF export", "pdf_export_s", 2, "s"),
            _fixed("zip of 100 cards", "zip_100_cards_s", 60, "s"),
            _fixed("worst-case render", "worst_case_render_seconds", 1, "s"),
        )),
        Benchmark("promotion", "bench/promotion.py", "last signature to alias moved in MLflow", (
            _fixed("apply p95", "apply_p95_seconds", 2, "s"),
        )),
        Benchmark("lineage", "bench/lineage.py", "lineage graphs, browser and impact", (
            _fixed("dataset graph (523 nodes)", "graph_ms", 300, "ms"),
            _fixed("dataset page ready in Chromium", "browser_ready_ms", 2000, "ms"),
            _fixed("impact of a dataset", "impact_ms", 100, "ms"),
        )),
        Benchmark("packaging", "bench/packages.py", "ONNX conversion and artifact hashing", (
            _fixed("convert + validate a 100-tree forest", "convert_validate_seconds", 10, "s"),
            Check("hashing / sha256sum (throughput ≥ 0.8×)", "hash_seconds", "sha256sum_seconds", 1.25,
                  unit="s"),
            _fixed("hashing peak memory", "hash_peak_mb", 100, "MB"),
        )),
        Benchmark("load", "bench/load.py", "50 users browsing and signing for 2 minutes (locust)", (
            _fixed("pages p95", "pages_p95_ms", 300, "ms"),
            _fixed("lineage p95", "lineage_p95_ms", 1000, "ms"),
            _fixed("failures (< 0.1 %)", "failure_ratio", 0.001, ""),
        )),
        Benchmark("reconcile", "bench/reconcile.py", "no-change reconcile against the full read", (
            Check("no-change reconcile / full read", "reconcile_ratio", None, 0.1),
        )),
    )
}  # fmt: skip


# --- reading ---------------------------------------------------------------------------------------
_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_.]*): (.*)$")
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


# Lines of that shape that are not figures: the Makefile's service check (.ci/services) prints "services: ...".
NOT_FIGURES = frozenset({"services"})


def parse_figures(stdout: str) -> dict[str, str]:
    """The ``name: value`` lines of a benchmark's output, in order (a repeated name keeps its last value).
    Anything else (progress, tracebacks, make's own lines) is ignored."""
    figures: dict[str, str] = {}
    for line in stdout.splitlines():
        match = _LINE.match(line.strip())
        if match and match.group(1) not in NOT_FIGURES:
            figures[match.group(1)] = match.group(2).strip()
    return figures


def number(raw: str | None) -> float | None:
    """The number a value starts with ("0.281 ms (target <= 5.0 ms: ok)" → 0.281), or None."""
    if raw is None:
        return None
    match = _NUMBER.match(raw.strip())
    return float(match.group(0)) if match else None


def quick_args(readme: str) -> dict[str, str]:
    """Each benchmark's quick arguments from bench/README.md's table: the row whose first cell is exactly
    `make bench-<name>` and whose last cell runs `.venv/bin/python bench/<script>.py ARGS`."""
    found: dict[str, str] = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3:
            continue
        target = re.fullmatch(r"`make bench-([a-z0-9-]+)`", cells[0])
        quick = re.search(r"`[^`]*bench/[A-Za-z0-9_]+\.py([^`]*)`", cells[-1])
        if target and quick:
            found[target.group(1)] = quick.group(1).strip()
    return found


def make_targets(makefile: str) -> set[str]:
    """The `bench-<name>` targets a Makefile defines."""
    return set(re.findall(r"^bench-([a-z0-9-]+)\s*:", makefile, flags=re.MULTILINE))


# --- judging ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    check: Check
    value: float | None
    baseline_value: float | None
    ratio: float | None
    target: float

    @property
    def outcome(self) -> str:
        if self.ratio is None:
            return "not printed"
        met = self.ratio >= self.target if self.check.higher_is_better else self.ratio <= self.target
        return "pass" if met else "miss"


def judge(check: Check, figures: dict[str, str]) -> Verdict:
    value = number(figures.get(check.figure))
    target = check.target
    if check.target_figure and number(figures.get(check.target_figure)) is not None:
        target = number(figures[check.target_figure]) or target
    if check.baseline is None:
        base: float | None = 1.0
    elif isinstance(check.baseline, str):
        base = number(figures.get(check.baseline))
    else:
        base = float(check.baseline)
    ratio = value / base if value is not None and base else None
    shown_base = None if check.baseline is None else base
    return Verdict(check, value, shown_base, ratio, target)


# --- writing ---------------------------------------------------------------------------------------
@dataclass
class BenchRun:
    name: str
    status: str  # "ran", "failed (exit N)", "timed out after N s", "not available", "not run"
    command: str = ""
    stdout: str = ""
    seconds: float = 0.0
    load_before: tuple[float, float, float] | None = None
    load_after: tuple[float, float, float] | None = None
    note: str = ""
    error_tail: str = ""

    @property
    def figures(self) -> dict[str, str]:
        return parse_figures(self.stdout)

    def verdicts(self) -> list[Verdict]:
        spec = BENCHMARKS.get(self.name)
        return [judge(c, self.figures) for c in spec.checks] if spec else []


@dataclass
class Report:
    quick: bool
    started: str
    finished: str
    code: str
    machine: dict[str, str]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    runs: list[BenchRun] = field(default_factory=list)
    environment: str = ""


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if value != 0 and abs(value) < 0.01:
        text = f"{value:.2g}"
    elif abs(value) >= 1000:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return f"{text} {unit}".strip()


def _load(load: tuple[float, float, float] | None) -> str:
    return " / ".join(f"{x:.2f}" for x in load) if load else "—"


def _target(verdict: Verdict) -> str:
    return f"{'≥' if verdict.check.higher_is_better else '≤'} {verdict.target:g}"


def _baseline(verdict: Verdict) -> str:
    check = verdict.check
    if check.baseline is None:
        return "(the figure is a ratio)"
    if isinstance(check.baseline, str):
        return f"`{check.baseline}` = {_num(verdict.baseline_value, check.unit)}"
    return f"target {_num(verdict.baseline_value, check.unit)}"


def _summary_row(run: BenchRun) -> str:
    verdicts = run.verdicts()
    judged = [v for v in verdicts if v.ratio is not None]
    passed = sum(v.outcome == "pass" for v in judged)
    outcome = f"{passed} of {len(verdicts)} pass" if run.status == "ran" else run.status
    if run.status == "ran" and len(judged) < len(verdicts):
        outcome += f" ({len(verdicts) - len(judged)} not printed)"
    seconds = "—" if run.status in ("not available", "not run") else f"{run.seconds:.0f} s"
    loads = f"{_load(run.load_before)} → {_load(run.load_after)}" if run.load_before else "—"
    return f"| [`bench-{run.name}`](#bench-{run.name}) | {outcome} | {seconds} | {loads} |"


def _bench_section(run: BenchRun) -> list[str]:
    spec = BENCHMARKS.get(run.name)
    lines = [f"## bench-{run.name}", ""]
    if spec:
        lines += [f"{spec.what} (`{spec.script}`).", ""]
    if run.status == "not available":
        return [*lines, f"Not available: this Makefile has no `bench-{run.name}` target yet.", ""]
    if run.status == "not run":
        return [*lines, "Not run in this report (`--only`).", ""]
    lines += [
        f"Reproduce: `{run.command}`" + (f" ({run.note})" if run.note else ""),
        "",
        f"Status: {run.status}; took {run.seconds:.0f} s; load average (1/5/15 min) before "
        f"{_load(run.load_before)}, after {_load(run.load_after)}.",
        "",
    ]
    if run.error_tail:
        lines += ["```", run.error_tail.rstrip(), "```", ""]
    verdicts = run.verdicts()
    if verdicts:
        lines += [
            "| check | figure | value | baseline | ratio | target | result |",
            "|---|---|---|---|---|---|---|",
        ]
        for v in verdicts:
            lines.append(
                f"| {v.check.label} | `{v.check.figure}` | {_num(v.value, v.check.unit)} | {_baseline(v)} "
                f"| {_num(v.ratio)} | {_target(v)} | **{v.outcome}** |"
            )
        lines.append("")
    figures = run.figures
    if figures:
        lines += [f"<details><summary>Every figure printed ({len(figures)})</summary>", ""]
        lines += ["| figure | value |", "|---|---|"]
        lines += [f"| `{k}` | {v.replace('|', '/')} |" for k, v in figures.items()]
        lines += ["", "</details>", ""]
    return lines


def render_markdown(report: Report) -> str:
    kind = (
        "**quick run**: each benchmark with the quick arguments bench/README.md documents (smaller data and "
        "fewer repeats than the full figures; a check that the report works, not the reference figures)"
        if report.quick
        else "**full run**: each benchmark with its default arguments"
    )
    facts = [("date (UTC)", f"{report.started} → {report.finished}"), ("code", report.code)]
    facts += list(report.machine.items())
    facts.append(
        ("load average (1/5/15 min)", f"before {_load(report.load_before)}, after {_load(report.load_after)}")
    )
    if report.environment:
        facts.append(("services", report.environment))
    lines = [
        "# Performance report",
        "",
        f"Written by `make bench-report` (`bench/report.py`) from one run of every benchmark: {kind}.",
        "Each ratio divides a figure by its baseline from the same run (MLflow doing the same work, the floor",
        "read, `sha256sum`), or by the fixed target where there is nothing to compare with. Absolute times vary",
        "with the machine's load (shown per benchmark); ratios taken within one run vary much less. How each",
        "benchmark measures: [bench/README.md](../bench/README.md).",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in facts],
        "",
        "## Summary",
        "",
        "| benchmark | checks | took | load before → after |",
        "|---|---|---|---|",
        *[_summary_row(run) for run in report.runs],
        "",
    ]
    for run in report.runs:
        lines += _bench_section(run)
    return "\n".join(lines).rstrip() + "\n"
