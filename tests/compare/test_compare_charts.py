"""Chart builders: pure functions from plain data to plotly figure dicts."""

import json
import math

import pytest

from compare import charts, step_series


def _assert_chart_basics(fig):
    assert set(fig) >= {"data", "layout", "config"}
    assert fig["layout"]["title"]["text"]
    assert fig["layout"]["xaxis"]["title"]["text"]
    assert fig["layout"]["yaxis"]["title"]["text"]
    assert fig["config"]["toImageButtonOptions"]["format"] == "png"
    for trace in fig["data"]:
        if trace["type"] != "parcoords":
            assert "hovertemplate" in trace
    json.dumps(fig, allow_nan=False)  # valid JSON for a browser: no NaN


def test_metric_bars_has_one_trace_per_version_with_the_mirror_values():
    fig = charts.metric_bars(
        ["m:1", "m:2"],
        {"acc": {"m:1": 0.9, "m:2": 0.8}, "rmse": {"m:1": 1.5, "m:2": 1.2}},
        title="Candidate vs holder",
    )
    _assert_chart_basics(fig)
    assert [t["name"] for t in fig["data"]] == ["m:1", "m:2"]
    assert fig["data"][0]["x"] == ["acc", "rmse"]
    assert fig["data"][0]["y"] == [0.9, 1.5]
    assert fig["data"][1]["y"] == [0.8, 1.2]
    assert fig["layout"]["barmode"] == "group"
    assert fig["layout"]["title"]["text"] == "Candidate vs holder"


def test_metric_bars_leave_a_gap_for_a_missing_metric_not_a_zero():
    fig = charts.metric_bars(["a:1", "a:2"], {"acc": {"a:1": 0.9}, "f1": {"a:1": None, "a:2": 0.5}})
    assert fig["data"][1]["y"] == [None, 0.5]
    assert fig["data"][0]["y"] == [0.9, None]


def test_metric_bars_turn_nan_and_infinity_into_gaps():
    fig = charts.metric_bars(["a:1"], {"loss": {"a:1": math.nan}, "x": {"a:1": math.inf}})
    assert fig["data"][0]["y"] == [None, None]
    _assert_chart_basics(fig)


def test_normalised_bars_put_the_best_at_one_respecting_the_goal():
    fig = charts.metric_bars(
        ["a:1", "a:2"],
        {"acc": {"a:1": 0.8, "a:2": 0.4}, "rmse": {"a:1": 2.0, "a:2": 1.0}},
        normalise=True,
        lower_is_better=["rmse"],
    )
    v1, v2 = fig["data"]
    assert v1["y"] == [1.0, 0.5]
    assert v2["y"] == [0.5, 1.0]
    assert v1["customdata"] == [0.8, 2.0]  # hover shows the raw value
    assert "best" in fig["layout"]["yaxis"]["title"]["text"]


def test_bars_name_the_unit_when_every_metric_shares_one():
    fig = charts.metric_bars(["a:1"], {"latency_ms": {"a:1": 12.0}, "p99_ms": {"a:1": 30.0}})
    assert fig["layout"]["yaxis"]["title"]["text"] == "value (ms)"


def _series(n, spike_at=None):
    points = [{"step": i, "timestamp": 1000 + i, "value": math.sin(i / 50)} for i in range(n)]
    if spike_at is not None:
        points[spike_at]["value"] = 99.0
        points[spike_at + 1]["value"] = -99.0
    return points


@pytest.mark.parametrize("n", [3, 2000, 2001, 10_000, 12_345])
def test_downsample_keeps_first_last_min_and_max_within_the_budget(n):
    points = _series(n, spike_at=n // 3 if n > 10 else None)
    kept = step_series.downsample(points, 2000)
    assert len(kept) <= 2000
    assert kept[0] is points[0] and kept[-1] is points[-1]
    values = [p["value"] for p in kept]
    assert max(values) == max(p["value"] for p in points)
    assert min(values) == min(p["value"] for p in points)
    assert [p["step"] for p in kept] == sorted(p["step"] for p in kept)  # order kept


def test_downsample_returns_short_series_unchanged():
    points = _series(10)
    assert step_series.downsample(points, 2000) == points


def test_history_lines_overlay_one_downsampled_line_per_version():
    fig = step_series.history_lines({"m:1": _series(10_000, spike_at=5000), "m:2": _series(100)}, "loss")
    _assert_chart_basics(fig)
    assert [t["name"] for t in fig["data"]] == ["m:1", "m:2"]
    assert len(fig["data"][0]["x"]) <= 2000
    assert 99.0 in fig["data"][0]["y"] and -99.0 in fig["data"][0]["y"]
    assert fig["data"][1]["x"] == list(range(100))
    assert fig["layout"]["xaxis"]["title"]["text"] == "step"
    assert fig["layout"]["yaxis"]["title"]["text"] == "loss"


def test_trend_plots_every_version_in_order_and_marks_alias_holders():
    points = [
        {"version": 3, "value": 0.7, "aliases": ["champion"]},
        {"version": 1, "value": 0.5, "aliases": []},
        {"version": 2, "value": None, "aliases": []},
    ]
    fig = charts.trend(points, "accuracy")
    _assert_chart_basics(fig)
    line, markers = fig["data"]
    assert line["x"] == [1, 3] and line["y"] == [0.5, 0.7]
    assert markers["x"] == [3] and markers["text"] == ["champion"]
    assert fig["layout"]["xaxis"]["title"]["text"] == "version"


@pytest.mark.parametrize(
    "versions, dtick", [([1, 2, 3], 1), ([1, 12], 2), (list(range(1, 501)), 50), ([7], 1)]
)
def test_trend_axis_ticks_only_on_whole_version_numbers(versions, dtick):
    fig = charts.trend([{"version": v, "value": 0.5, "aliases": []} for v in versions], "accuracy")
    xaxis = fig["layout"]["xaxis"]
    # A linear tick mode from a whole number with a whole step: never a tick at version 1.5.
    assert xaxis["tickmode"] == "linear"
    assert xaxis["tick0"] == 0
    assert xaxis["dtick"] == dtick and isinstance(xaxis["dtick"], int)
    assert xaxis["tickformat"] == "d"


FIGURES = {
    "bars": lambda: charts.metric_bars(["a", "b"], {"acc": {"a": 0.5, "b": 0.6}}),
    "normalised": lambda: charts.metric_bars(["a", "b"], {"acc": {"a": 0.5, "b": 0.6}}, normalise=True),
    "history": lambda: step_series.history_lines({"a": [{"step": 1, "value": 0.5}]}, "acc"),
    "trend": lambda: charts.trend([{"version": 1, "value": 0.5, "aliases": ["champion"]}], "acc"),
    "scatter": lambda: charts.scatter([{"label": "a", "metrics": {"x": 1, "y": 2}}], "x", "y"),
}


@pytest.mark.parametrize("name", FIGURES)
def test_legend_sits_below_the_axis_titles_not_on_them(name):
    layout = FIGURES[name]()["layout"]
    # Anchored to the bottom of the whole figure (yref "container"), plotly reserves the legend's height
    # under the plot; axis automargin then makes room for tick labels and titles above it. A legend at a
    # fraction of the plot's height (y=-0.25) lands on the x-axis title of a short chart.
    assert layout["legend"]["yref"] == "container"
    assert layout["legend"]["y"] == 0 and layout["legend"]["yanchor"] == "bottom"
    assert layout["xaxis"]["automargin"] is True and layout["yaxis"]["automargin"] is True


def test_parallel_coordinates_have_a_dimension_per_param_and_the_metric_last():
    rows = [
        {"version": 1, "params": {"C": "0.1", "solver": "lbfgs"}, "value": 0.8},
        {"version": 2, "params": {"C": "1.0", "solver": "saga"}, "value": 0.9},
        {"version": 3, "params": {"C": "1.0"}, "value": None},
    ]
    fig = charts.parallel_coordinates(rows, ["C", "solver"], "accuracy")
    _assert_chart_basics(fig)
    dims = fig["data"][0]["dimensions"]
    assert [d["label"] for d in dims] == ["C", "solver", "accuracy"]
    assert dims[0]["values"] == [0.1, 1.0]
    assert dims[1]["ticktext"] == ["lbfgs", "saga"] and dims[1]["values"] == [0, 1]
    assert dims[2]["values"] == [0.8, 0.9]
    assert fig["data"][0]["line"]["color"] == [0.8, 0.9]


def test_scatter_plots_versions_having_both_metrics():
    rows = [
        {"label": "m:1", "metrics": {"acc": 0.9, "latency_ms": 12}},
        {"label": "m:2", "metrics": {"acc": 0.8}},
    ]
    fig = charts.scatter(rows, "latency_ms", "acc")
    _assert_chart_basics(fig)
    assert fig["data"][0]["x"] == [12.0] and fig["data"][0]["y"] == [0.9]
    assert fig["data"][0]["text"] == ["m:1"]
    assert fig["layout"]["xaxis"]["title"]["text"] == "latency_ms (ms)"


def test_compact_history_rounds_to_seven_significant_digits_and_keeps_the_extremes():
    points = _series(10_000, spike_at=7000)
    points[10]["value"] = 0.123456789123
    compact = step_series.compact_history(list(reversed(points)), 2000)  # out of order on purpose
    assert len(compact) <= 2000
    assert compact[0]["step"] == 0 and compact[-1]["step"] == 9999
    values = [p["value"] for p in compact]
    assert 99.0 in values and -99.0 in values
    assert set(compact[0]) == {"step", "value"}
    fig = step_series.history_lines({"m:1": compact}, "loss", compacted=True)
    assert fig["data"][0]["y"] == values
    assert step_series.compact_history([{"step": 0, "value": 0.123456789123}])[0]["value"] == 0.1234568
