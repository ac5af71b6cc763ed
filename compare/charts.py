"""Chart builders: plain data in, plotly figures (JSON-able dicts with `data`, `layout`, `config`) out.

Pure functions — no ORM, no I/O — shared by the comparison page, its API, the promotion page (candidate
against holder) and the static images in card exports. A missing value is `None` in the figure (a gap),
never a zero. Non-finite numbers (MLflow allows NaN and inf) become `None` too, so the figure is valid JSON.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import Any

PALETTE = [
    "#2557d6",
    "#c26a00",
    "#17803d",
    "#b3261e",
    "#6b3fb8",
    "#0f7b8a",
    "#a1476f",
    "#5c6b00",
    "#6b7483",
    "#1d2330",
]

# Suffixes and names whose unit is known; everything else has no unit on its axis.
_UNIT_SUFFIXES = [
    ("_ms", "ms"),
    ("_millis", "ms"),
    ("_seconds", "s"),
    ("_secs", "s"),
    ("_sec", "s"),
    ("_s", "s"),
    ("_pct", "%"),
    ("_percent", "%"),
    ("_bytes", "bytes"),
    ("_mb", "MB"),
    ("_gb", "GB"),
]


def metric_unit(name: str) -> str | None:
    """The unit of a metric or param when its name says so (`latency_ms` → "ms"), else None."""
    lowered = name.lower()
    for suffix, unit in _UNIT_SUFFIXES:
        if lowered.endswith(suffix):
            return unit
    return None


def axis_title(name: str) -> str:
    unit = metric_unit(name)
    return f"{name} ({unit})" if unit else name


def number(value: Any) -> float | None:
    """A finite float, or None for missing, non-numeric, NaN or infinite values."""
    if value is None or isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _config(filename: str) -> dict[str, Any]:
    # The filename for downloads. static/js/charts.js swaps plotly's PNG button (which loads a blob: image)
    # for PNG and SVG buttons of its own that name the file with it.
    return {
        "displaylogo": False,
        "responsive": True,
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
        "toImageButtonOptions": {"format": "png", "filename": _safe_filename(filename), "scale": 2},
    }


def _safe_filename(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in text).strip("-")
    return cleaned[:80] or "chart"


def _figure(
    data: list[dict[str, Any]], title: str, xaxis: dict[str, Any], yaxis: dict[str, Any], **layout: Any
) -> dict[str, Any]:
    return {
        "data": data,
        "layout": {
            "title": {"text": title},
            # automargin: room for tick labels and the axis titles, whatever their length.
            "xaxis": {"automargin": True, **xaxis},
            "yaxis": {"automargin": True, **yaxis},
            "hovermode": "closest",
            # At the bottom of the figure, not at a fraction of the plot's height (y=-0.25 lands on the
            # x-axis title of a short chart): plotly reserves the legend's height below the axes.
            "legend": {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
            **layout,
        },
        "config": _config(title),
    }


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


# --- grouped bars of metrics per version ----------------------------------------------------------
def normalised_values(
    row: dict[str, float | None], columns: list[str], lower_is_better: bool = False
) -> dict[str, float | None]:
    """Each value relative to the row's best (the best is 1.0). None where that ratio means nothing:
    a missing value, or a best of zero or signs that differ (a ratio across zero misleads)."""
    values = {c: number(row.get(c)) for c in columns}
    present = [v for v in values.values() if v is not None]
    if not present:
        return {c: None for c in columns}
    best = min(present) if lower_is_better else max(present)
    result: dict[str, float | None] = {}
    for column, value in values.items():
        if value is None:
            result[column] = None
        elif lower_is_better:
            result[column] = best / value if value > 0 and best >= 0 else (1.0 if value == best else None)
        else:
            result[column] = value / best if best > 0 and value >= 0 else (1.0 if value == best else None)
    return result


def metric_bars(
    columns: list[str],
    metrics: dict[str, dict[str, float | None]],
    normalise: bool = False,
    title: str | None = None,
    *,
    lower_is_better: Iterable[str] = (),
) -> dict[str, Any]:
    """Grouped bars: one group per metric, one bar (and legend entry) per column (a version label).

    `metrics` is {metric: {column: value}}; a column missing from a row, or None, leaves a gap.
    With `normalise`, each bar is its value divided by the row's best (goals from `lower_is_better`,
    the names of metrics where lower is better), so metrics of different scales share one axis.
    """
    lower = set(lower_is_better)
    keys = list(metrics)
    data = []
    relative = {k: normalised_values(metrics[k], columns, k in lower) for k in keys} if normalise else {}
    for i, column in enumerate(columns):
        raw = [number(metrics[k].get(column)) for k in keys]
        if normalise:
            ys = [relative[k][column] for k in keys]
            hover = f"{column}<br>%{{x}}: %{{customdata:.4g}}<br>relative to best: %{{y:.3f}}<extra></extra>"
        else:
            ys = raw
            hover = f"{column}<br>%{{x}}: %{{y:.6g}}<extra></extra>"
        data.append(
            {
                "type": "bar",
                "name": column,
                "x": keys,
                "y": ys,
                "customdata": raw,
                "marker": {"color": _color(i)},
                "hovertemplate": hover,
            }
        )
    if title is None:
        title = "Metrics relative to the best version" if normalise else "Metrics per version"
    yaxis: dict[str, Any] = {
        "title": {"text": "value / best (1 = best)" if normalise else "value"},
        "zeroline": True,
    }
    units = {metric_unit(k) for k in keys}
    if not normalise and len(units) == 1 and None not in units:
        yaxis["title"]["text"] = f"value ({units.pop()})"
    return _figure(
        data,
        title,
        {"title": {"text": "metric"}, "type": "category", "automargin": True},
        yaxis,
        barmode="group",
    )


# --- trend across versions -------------------------------------------------------------------------
def trend(points: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """A metric across the versions of a model, `points` being [{version, value, aliases}] in any order.
    Versions that hold aliases get a second, labelled marker trace."""
    ordered = sorted(points, key=lambda p: p["version"])
    with_value = [p for p in ordered if number(p.get("value")) is not None]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": metric,
            "x": [p["version"] for p in with_value],
            "y": [number(p["value"]) for p in with_value],
            "line": {"color": PALETTE[0], "width": 1.5},
            "marker": {"size": 5},
            "hovertemplate": f"v%{{x}}<br>{metric}: %{{y:.6g}}<extra></extra>",
        }
    ]
    aliased = [p for p in with_value if p.get("aliases")]
    if aliased:
        labels = [", ".join(p["aliases"]) for p in aliased]
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": "alias holders",
                "x": [p["version"] for p in aliased],
                "y": [number(p["value"]) for p in aliased],
                "text": labels,
                "textposition": "top center",
                "marker": {"size": 12, "symbol": "star", "color": PALETTE[1]},
                "hovertemplate": f"v%{{x}} (%{{text}})<br>{metric}: %{{y:.6g}}<extra></extra>",
            }
        )
    versions = [p["version"] for p in with_value]
    return _figure(
        data,
        f"{metric} across versions",
        {
            "title": {"text": "version"},
            # Versions are whole numbers: ticks from 0 in a whole step, never at 1.5 (which "d" would
            # print as a second "2").
            "tickmode": "linear",
            "tick0": 0,
            "dtick": integer_tick_step(max(versions) - min(versions) if versions else 0),
            "tickformat": "d",
        },
        {"title": {"text": axis_title(metric)}},
    )


def integer_tick_step(span: float, max_ticks: int = 10) -> int:
    """The smallest step of 1, 2 or 5 times a power of ten giving at most about `max_ticks` ticks."""
    step, factors = 1, itertools.cycle((2, 2.5, 2))  # 1, 2, 5, 10, 20, 50, 100 ...
    while span / step > max_ticks:
        step = round(step * next(factors))
    return step


# --- parallel coordinates --------------------------------------------------------------------------
def _dimension(label: str, values: list[Any]) -> dict[str, Any]:
    numeric = [number(v) for v in values]
    if all(n is not None for n in numeric) and values:
        return {"label": axis_title(label), "values": numeric}
    # Categorical (or partly missing): one tick per distinct value, "—" for missing.
    texts = ["—" if v is None or v == "" else str(v) for v in values]
    categories = sorted(set(texts))
    index = {c: i for i, c in enumerate(categories)}
    return {
        "label": label,
        "values": [index[t] for t in texts],
        "tickvals": list(range(len(categories))),
        "ticktext": [c[:20] for c in categories],
    }


def parallel_coordinates(rows: list[dict[str, Any]], params: list[str], metric: str) -> dict[str, Any]:
    """Params against a metric across versions. `rows` are [{version, params: {k: v}, value}]
    (`value` being that version's `metric`); rows without the metric are left out."""
    kept = [r for r in rows if number(r.get("value")) is not None]
    dims = [_dimension(p, [(r.get("params") or {}).get(p) for r in kept]) for p in params]
    values = [number(r["value"]) for r in kept]
    dims.append({"label": axis_title(metric), "values": values})
    data = [
        {
            "type": "parcoords",
            "name": metric,
            "line": {
                "color": values,
                "colorscale": "Viridis",
                # No colorbar: the metric is the last axis already, and plotly's colorbar sets an inline
                # style attribute that the CSP blocks (a console error).
                "showscale": False,
            },
            "dimensions": dims,
            "customdata": [r.get("version") for r in kept],
        }
    ]
    return _figure(
        data,
        f"Parameters against {metric} ({len(kept)} versions)",
        {"title": {"text": "parameter"}},
        {"title": {"text": axis_title(metric)}},
        # plotly draws each dimension's label above the plot area, in the top margin: the page's default
        # (48 px) put the chart title on them. Room for both, title above the labels.
        margin={"l": 64, "r": 24, "t": 100, "b": 64},
    )


# --- scatter of two metrics ------------------------------------------------------------------------
def scatter(rows: list[dict[str, Any]], x: str, y: str) -> dict[str, Any]:
    """One point per row having both metrics. `rows` are [{label, metrics: {k: v}}] (a row may also
    carry the values directly as keys `x` and `y` name)."""

    def value(row: dict[str, Any], key: str) -> float | None:
        metrics = row.get("metrics")
        source: dict[str, Any] = metrics if isinstance(metrics, dict) else row
        return number(source.get(key))

    kept = [(r, value(r, x), value(r, y)) for r in rows]
    kept = [(r, vx, vy) for r, vx, vy in kept if vx is not None and vy is not None]
    data = [
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": f"{y} vs {x}",
            "x": [vx for _, vx, _ in kept],
            "y": [vy for _, _, vy in kept],
            "text": [str(r.get("label", r.get("version", ""))) for r, _, _ in kept],
            "textposition": "top center",
            "marker": {"size": 11, "color": [_color(i) for i in range(len(kept))]},
            "hovertemplate": f"%{{text}}<br>{x}: %{{x:.6g}}<br>{y}: %{{y:.6g}}<extra></extra>",
        }
    ]
    return _figure(
        data,
        f"{y} against {x}",
        {"title": {"text": axis_title(x)}},
        {"title": {"text": axis_title(y)}},
    )
