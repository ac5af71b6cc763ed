"""Across all versions of a model (the trend of a metric, parallel coordinates of parameters) and the step
histories of a metric for the compared versions, downsampled and cached."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import connection
from django.db.models import F, Func, JSONField, Value

from common.errors import InvalidInput, MlflowNotFound, MlflowRejected, MlflowUnavailable
from common.jsonkeys import DictKey
from compare import charts, step_series
from compare.refs import label
from mirror.models import MetricHistory, ModelVersion, RegisteredModel

logger = logging.getLogger(__name__)

FINISHED = ("FINISHED", "FAILED", "KILLED")


def trend_points(model: RegisteredModel, metric: str) -> list[dict]:
    """[{version, value, aliases}] for every live version of the model (one query, reading only that
    metric out of each run's metric map); versions without the metric have value None.
    InvalidInput when no version has it."""
    rows = list(
        ModelVersion.objects.live()
        .filter(model=model)
        .order_by("version")
        .annotate(_value=DictKey(metric, "source_run__metrics"))
        .values_list("version", "aliases", "_value")
    )
    points = [{"version": v, "value": charts.number(value), "aliases": list(a or [])} for v, a, value in rows]
    if not any(value is not None for _, _, value in rows):
        raise InvalidInput(f"No version of {model.name!r} has the metric {metric!r}.", field="metric")
    return points


def metric_names(model: RegisteredModel, limit: int = 2000) -> list[str]:
    """Metric keys that any of the model's versions logged (one query over the runs' metric maps)."""
    names: set[str] = set()
    qs = ModelVersion.objects.live().filter(model=model, source_run__isnull=False)
    for metrics in qs.values_list("source_run__metrics", flat=True)[:limit]:
        names.update(metrics or {})
    return sorted(names)


def parallel_rows(model: RegisteredModel, metric: str, max_params: int = 8) -> tuple[list[dict], list[str]]:
    """Rows [{version, params, value}] for every live version having `metric`, and the params to show:
    those that vary across versions (at most `max_params`, the most varied first). One query."""
    rows = [
        {"version": v, "params": p or {}, "value": charts.number(value)}
        for v, p, value in ModelVersion.objects.live()
        .filter(model=model, source_run__isnull=False)
        .order_by("version")
        .annotate(_value=DictKey(metric, "source_run__metrics"))
        .values_list("version", "source_run__params", "_value")
    ]
    rows = [r for r in rows if r["value"] is not None]
    if not rows:
        raise InvalidInput(f"No version of {model.name!r} has the metric {metric!r}.", field="metric")
    distinct: dict[str, set] = {}
    for row in rows:
        for key, value in row["params"].items():
            distinct.setdefault(key, set()).add(value)
    varying = [k for k, vals in distinct.items() if len(vals) > 1 or any(k not in r["params"] for r in rows)]
    varying.sort(key=lambda k: (-len(distinct[k]), k))
    return rows, sorted(varying[:max_params])


HISTORY_CACHE_SECONDS = 24 * 3600


def _history_arrays(pks: list[int]):
    """(pk, steps, values) of mirror histories. PostgreSQL hands over two flat arrays per history
    (jsonpath), 3-4x faster to decode than 10,000 {step, timestamp, value} objects; other databases
    give the points."""
    rows = MetricHistory.objects.filter(pk__in=pks)
    if connection.vendor != "postgresql":
        for pk, points in rows.values_list("pk", "points"):
            yield pk, [p.get("step") for p in points], [p.get("value") for p in points]
        return

    def path(expression: str) -> Func:
        return Func(
            F("points"), Value(expression), function="jsonb_path_query_array", output_field=JSONField()
        )

    yield from rows.annotate(_steps=path("$[*].step"), _values=path("$[*].value")).values_list(
        "pk", "_steps", "_values"
    )


def _history_cache_key(pk: int, fetched_at, max_points: int) -> str:
    return f"compare:history:{pk}:{fetched_at.timestamp():.6f}:{max_points}"


def history_series(
    versions: list[ModelVersion], metric: str, fetch, max_points: int = 2000
) -> tuple[dict[str, list[dict]], dict[str, str]]:
    """{label: points compacted by `step_series.compact_history` to at most `max_points`} for each version whose
    source run logged `metric`, plus {label: reason} for those left out.

    Histories of finished runs already cached in the mirror are read in one query (two when some are not
    in Django's cache yet); the downsampled series are kept in Django's cache, keyed by the mirror row and
    its fetch time, because decoding 10,000-step histories dominates the answer. The others go through
    `fetch(run=, key=)` (the caching `mirror.services.metric_history`)."""
    runs = [mv.source_run for mv in versions if mv.source_run is not None and metric in mv.source_run.metrics]
    rows = MetricHistory.objects.filter(run__in=[r for r in runs if r.status in FINISHED], key=metric)
    keys = {
        run_id: (pk, _history_cache_key(pk, fetched_at, max_points))
        for pk, run_id, fetched_at in rows.values_list("pk", "run_id", "fetched_at")
    }
    cached = cache.get_many([key for _, key in keys.values()]) if keys else {}
    series_by_run = {run_id: cached[key] for run_id, (_, key) in keys.items() if key in cached}
    misses = {pk: run_id for run_id, (pk, key) in keys.items() if key not in cached}
    if misses:
        fresh = {}
        for pk, steps, values in _history_arrays(list(misses)):
            reduced = step_series.compact_series(steps, values, max_points)
            series_by_run[misses[pk]] = reduced
            fresh[keys[misses[pk]][1]] = reduced
        cache.set_many(fresh, timeout=HISTORY_CACHE_SECONDS)

    series: dict[str, list[dict]] = {}
    skipped: dict[str, str] = {}
    for mv in versions:
        run = mv.source_run
        if run is None:
            skipped[label(mv)] = "no source run in the mirror"
        elif metric not in run.metrics:
            skipped[label(mv)] = f"no metric {metric!r}"
        elif run.pk in series_by_run:
            series[label(mv)] = series_by_run[run.pk]
        else:
            try:
                points = fetch(run=run, key=metric)
            except (MlflowUnavailable, MlflowNotFound, MlflowRejected) as exc:
                skipped[label(mv)] = f"history unavailable from MLflow: {exc}"
            else:
                series[label(mv)] = step_series.compact_history(points, max_points)
    return series, skipped
