"""Metric histories (a metric over the steps of a run): downsampled for the page and the cache, keeping
the extremes, and drawn as overlaid lines, one per version. Pure functions, like `compare.charts`."""

from __future__ import annotations

import math
from typing import Any

from compare.charts import _color, _figure, axis_title, number


def _finite(value: Any) -> float | None:
    # The hot path of downsampling: MLflow values arrive as floats; anything else goes through number().
    if type(value) is float:
        return value if math.isfinite(value) else None
    return number(value)


def downsample_indices(values: list[float | None], max_points: int) -> list[int]:
    """Indices of the points `downsample` keeps, from the values alone (None for a missing value)."""
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    n = len(values)
    if n <= max_points:
        return list(range(n))
    buckets = max(1, (max_points - 2) // 2)
    interior = n - 2
    kept = [0]
    for b in range(buckets):
        lo, hi = 1 + b * interior // buckets, 1 + (b + 1) * interior // buckets
        if lo >= hi:
            continue
        i_min = i_max = -1
        v_min, v_max = math.inf, -math.inf
        for i in range(lo, hi):
            v = values[i]
            if v is None:
                continue
            if v < v_min:
                v_min, i_min = v, i
            if v > v_max:
                v_max, i_max = v, i
        if i_min < 0:
            kept.append(lo)
        elif i_min == i_max:
            kept.append(i_min)
        else:
            kept.extend((min(i_min, i_max), max(i_min, i_max)))
    kept.append(n - 1)
    return kept


def downsample(points: list[dict[str, Any]], max_points: int) -> list[dict[str, Any]]:
    """At most `max_points` points of a history ordered by step, keeping the first, the last, and each
    bucket's minimum and maximum value (min/max bucketing), so spikes and the extremes survive."""
    if len(points) <= max_points:
        if max_points < 2:
            raise ValueError("max_points must be at least 2")
        return list(points)
    values = [_finite(p.get("value")) for p in points]
    return [points[i] for i in downsample_indices(values, max_points)]


def compact_series(steps: list[Any], values: list[Any], max_points: int = 2000) -> list[dict[str, Any]]:
    """A history given as parallel lists of steps and values, ready to plot: ordered by step, downsampled,
    values rounded to 7 significant digits, as [{step, value}]."""
    try:
        ordered = steps == sorted(steps)
    except TypeError:
        ordered = False
    if not ordered:
        order = sorted(range(len(steps)), key=lambda i: number(steps[i]) or 0.0)
        steps, values = [steps[i] for i in order], [values[i] for i in order]
    clean = [_finite(v) for v in values]
    kept = downsample_indices(clean, max_points)
    rounded = _rounded([clean[i] for i in kept])
    return [{"step": steps[i], "value": v} for i, v in zip(kept, rounded, strict=True)]


def by_step(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The points ordered by step (they usually are already: checked in C, sorted only when not)."""
    try:
        steps = [p["step"] for p in points]
        if steps == sorted(steps):
            return points
    except (KeyError, TypeError):
        pass
    return sorted(points, key=lambda p: (number(p.get("step")) or 0.0, number(p.get("timestamp")) or 0.0))


def _rounded(values: list[Any]) -> list[float | None]:
    # A history line is a picture: 7 significant digits (float32 precision) keep it exact to the eye
    # and halve the JSON of 10 lines x 2,000 points. The float fast path matters: 20,000 values a chart.
    isfinite = math.isfinite
    out: list[float | None] = []
    for v in values:
        if type(v) is not float:
            v = number(v)
            if v is None:
                out.append(None)
                continue
        out.append(float(f"{v:.7g}") if isfinite(v) else None)
    return out


def compact_history(points: list[dict[str, Any]], max_points: int = 2000) -> list[dict[str, Any]]:
    """A history of {step, timestamp, value} points ready to plot (see `compact_series`).
    `history_lines(..., compacted=True)` then skips that work."""
    return compact_series([p.get("step") for p in points], [p.get("value") for p in points], max_points)


def history_lines(
    series: dict[str, list[dict[str, Any]]], metric: str, max_points: int = 2000, *, compacted: bool = False
) -> dict[str, Any]:
    """Overlaid lines of one metric over steps, one per label (a version), each downsampled server-side
    to at most `max_points` points keeping the extremes; values rounded to 7 significant digits.
    With `compacted`, the series come from `compact_history` already."""
    data = []
    for i, (label, points) in enumerate(series.items()):
        kept = points if compacted else (downsample(by_step(points), max_points) if points else [])
        data.append(
            {
                "type": "scatter",
                "mode": "lines" if len(kept) > 50 else "lines+markers",
                "name": label,
                "x": [p.get("step") for p in kept],
                "y": [p.get("value") for p in kept]
                if compacted
                else _rounded([p.get("value") for p in kept]),
                "line": {"color": _color(i), "width": 1.5},
                "hovertemplate": f"{label}<br>step %{{x}}<br>{metric}: %{{y:.6g}}<extra></extra>",
            }
        )
    return _figure(
        data,
        f"{metric} over training steps",
        {"title": {"text": "step"}},
        {"title": {"text": axis_title(metric)}},
    )
