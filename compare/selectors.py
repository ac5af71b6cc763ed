"""Reads for the comparison: parse and resolve a selection of versions, then build the side-by-side data.

`comparison()` is what both the page and `GET /api/v1/compare/` return, so they show the same numbers.
Queries are bounded whatever the number of metrics: one to resolve the versions (with their models and
source runs), one more to name an unknown model, and the trend/parallel reads are one query each.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Func, JSONField, Q, Value

from common.errors import InvalidInput, MlflowNotFound, MlflowRejected, MlflowUnavailable
from common.jsonkeys import DictKey
from compare import charts
from compare.goals import metric_goals
from mirror.models import MetricHistory, ModelVersion, RegisteredModel

logger = logging.getLogger(__name__)

MAX_VERSIONS = 20
FINISHED = ("FINISHED", "FAILED", "KILLED")
MAX_CHART_METRICS = 30  # the bar charts show the first N metrics (the primary metric first)


@dataclass(frozen=True)
class Ref:
    model: str
    version: int

    @property
    def label(self) -> str:
        return f"{self.model}:{self.version}"


# --- parsing and resolving -------------------------------------------------------------------------
def _getlist(params, key: str) -> list[str]:
    if hasattr(params, "getlist"):
        return [v for v in params.getlist(key)]
    value = params.get(key)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]


def _version_number(text: str, field: str) -> int:
    if not re.fullmatch(r"\s*v?\d{1,9}\s*", text):
        raise InvalidInput(f"{field}: {text!r} is not a version number.", field=field)
    number = int(text.strip().lstrip("v"))
    if number < 1:
        raise InvalidInput(f"{field}: {text!r} is not a version number.", field=field)
    return number


def has_selection(params) -> bool:
    return bool(_split(_getlist(params, "versions")) or _split(_getlist(params, "refs")))


def parse_selection(params) -> list[Ref]:
    """The refs named by `model` + `versions` (repeated or comma-separated) and/or `refs=NAME:V,...`,
    in the order given. Raises InvalidInput naming the bad value."""
    model = (params.get("model") or "").strip()
    versions = _split(_getlist(params, "versions"))
    refs: list[Ref] = []
    if versions and not model:
        raise InvalidInput(
            "versions were given without a model: add model=NAME or use refs=NAME:VERSION.", field="model"
        )
    for text in versions:
        refs.append(Ref(model, _version_number(text, "versions")))
    for text in _split(_getlist(params, "refs")):
        name, sep, number = text.rpartition(":")
        if not sep or not name.strip():
            raise InvalidInput(f"refs: {text!r} must be NAME:VERSION.", field="refs")
        refs.append(Ref(name.strip(), _version_number(number, "refs")))
    if not refs:
        raise InvalidInput(
            "Choose at least one version: model=NAME&versions=1,2 or refs=NAME:1,OTHER:4.", field="versions"
        )
    seen: set[Ref] = set()
    for ref in refs:
        if ref in seen:
            raise InvalidInput(f"{ref.label} is selected more than once.", field="versions")
        seen.add(ref)
    if len(refs) > MAX_VERSIONS:
        raise InvalidInput(
            f"At most {MAX_VERSIONS} versions can be compared; {len(refs)} were given.", field="versions"
        )
    return refs


def resolve(refs: list[Ref]) -> list[ModelVersion]:
    """The live versions for `refs`, in their order, with model and source run loaded (one query).
    Raises InvalidInput naming the unknown model or version."""
    condition = Q()
    for ref in refs:
        condition |= Q(model__name=ref.model, version=ref.version)
    rows = (
        ModelVersion.objects.live()
        .filter(model__deleted_at__isnull=True)
        .filter(condition)
        .select_related("model", "source_run")
    )
    found = {(mv.model.name, mv.version): mv for mv in rows}
    missing = [ref for ref in refs if (ref.model, ref.version) not in found]
    if missing:
        names = {ref.model for ref in missing}
        known = set(RegisteredModel.objects.live().filter(name__in=names).values_list("name", flat=True))
        ref = missing[0]
        if ref.model not in known:
            raise InvalidInput(f"Unknown model {ref.model!r}.", field="model")
        raise InvalidInput(f"Model {ref.model!r} has no version {ref.version}.", field="versions")
    return [found[(ref.model, ref.version)] for ref in refs]


def selection(params) -> list[ModelVersion]:
    return resolve(parse_selection(params))


# --- the comparison --------------------------------------------------------------------------------
def label(mv: ModelVersion) -> str:
    return f"{mv.model.name}:{mv.version}"


def _rows(labels: list[str], per_version: list[dict]) -> dict[str, dict[str, Any]]:
    keys = sorted({k for d in per_version for k in d})
    return {k: {lab: d.get(k) for lab, d in zip(labels, per_version, strict=True)} for k in keys}


def _differing(rows: dict[str, dict[str, Any]]) -> list[str]:
    return [k for k, row in rows.items() if len({_hashable(v) for v in row.values()}) > 1]


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


def _column_type(column: dict) -> str:
    spec = column.get("tensor-spec") or column.get("tensor_spec")
    text = str(column.get("type", ""))
    if spec:
        text += f" {spec.get('dtype', '')} {spec.get('shape', '')}".rstrip()
    if column.get("required") is False:
        text += " (optional)"
    return text.strip()


def _columns(signature: dict | None, part: str) -> dict[str, str]:
    result = {}
    for i, column in enumerate((signature or {}).get(part) or []):
        result[column.get("name") or f"[{i}]"] = _column_type(column)
    return result


def signature_diff(base: dict | None, other: dict | None) -> dict:
    """Columns added, removed and changed (type, shape or required) going from `base` to `other`."""
    diff = {}
    for part in ("inputs", "outputs"):
        a, b = _columns(base, part), _columns(other, part)
        diff[part] = {
            "added": [n for n in b if n not in a],
            "removed": [n for n in a if n not in b],
            "changed": [{"name": n, "from": a[n], "to": b[n]} for n in a if n in b and a[n] != b[n]],
        }
    return diff


def _dataset_rows(labels: list[str], versions: list[ModelVersion]) -> dict[str, dict[str, str | None]]:
    per_version = []
    for mv in versions:
        datasets = {}
        for d in (mv.source_run.datasets if mv.source_run else None) or []:
            key = d.get("name") or "(unnamed)"
            if d.get("context"):
                key += f" ({d['context']})"
            datasets[key] = d.get("digest") or ""
        per_version.append(datasets)
    return _rows(labels, per_version)


def _card_statuses(versions: list[ModelVersion]) -> dict[str, dict | None] | None:
    """Card completeness per version when the cards feature provides it (one query with its bulk read)."""
    try:
        from cards import selectors as card_selectors
    except ImportError:
        return None
    bulk = getattr(card_selectors, "scores_for_versions", None)
    single = getattr(card_selectors, "card_status", None)
    try:
        # A savepoint: another feature's failure must neither break the comparison nor the transaction.
        with transaction.atomic():
            if bulk is not None:
                statuses = bulk(versions)
                found = [statuses.get(mv.pk) for mv in versions]
            elif single is not None:
                found = [single(mv) for mv in versions]
            else:
                return None
    except Exception:
        logger.exception("card completeness unavailable for the comparison")
        return None
    return {label(mv): _plain_status(status) for mv, status in zip(versions, found, strict=True)}


def _plain_status(status: Any) -> dict | None:
    if status is None:
        return None
    if isinstance(status, dict):
        return {"score": status.get("score"), "missing": list(status.get("missing") or [])}
    return {"score": getattr(status, "score", None), "missing": list(getattr(status, "missing", []) or [])}


def _iso_utc(at: datetime.datetime | None) -> str | None:
    """ISO-8601 in UTC with a "Z", like every timestamp of the API."""
    return at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z") if at else None


def _ordered_metrics(keys: list[str], primary: list[str]) -> list[str]:
    first = [k for k in primary if k in keys]
    return first + [k for k in keys if k not in first]


def comparison(
    versions: list[ModelVersion], *, scatter_x: str | None = None, scatter_y: str | None = None
) -> dict:
    """Side-by-side data for versions loaded with `model` and `source_run` (see `resolve`).

    Returns {versions, metrics, params, tags, differing_params, differing_tags, metric_goals, best,
    deltas, primary_metrics, datasets, differing_datasets, signatures, identical_artifacts, cards, charts}.
    Missing values are None (null), never zero. No queries beyond the optional card status lookup.
    """
    labels = [label(mv) for mv in versions]
    models = list({mv.model_id: mv.model for mv in versions}.values())
    runs = [mv.source_run for mv in versions]

    metrics = _rows(
        labels, [{k: charts.number(v) for k, v in (r.metrics if r else {}).items()} for r in runs]
    )
    for axis, key in (("x", scatter_x), ("y", scatter_y)):
        if key and key not in metrics:
            raise InvalidInput(f"{axis}: no selected version has the metric {key!r}.", field=axis)
    primary = [m.primary_metric for m in models if m.primary_metric]
    metrics = {k: metrics[k] for k in _ordered_metrics(list(metrics), primary)}
    params = _rows(labels, [dict(r.params) if r else {} for r in runs])
    tags = _rows(labels, [dict(mv.tags) for mv in versions])

    goals = metric_goals(metrics, models)
    best: dict[str, list[str]] = {}
    deltas: dict[str, dict[str, float | None]] = {}
    for key, row in metrics.items():
        present = {lab: v for lab, v in row.items() if v is not None}
        if present:
            target = min(present.values()) if goals[key] == "minimize" else max(present.values())
            best[key] = [lab for lab, v in present.items() if v == target]
        else:
            best[key] = []
        base = row.get(labels[0]) if labels else None
        # charts.number: values near ±1.8e308 (MLflow's SQL store keeps ±Infinity so) overflow to inf.
        deltas[key] = {
            lab: (None if v is None or base is None else charts.number(v - base)) for lab, v in row.items()
        }

    datasets = _dataset_rows(labels, versions)
    base_signature = versions[0].signature if versions else None
    signatures = {
        label(mv): {
            "present": mv.signature is not None,
            "read": mv.artifacts_read_at is not None,
            **signature_diff(base_signature, mv.signature),
        }
        for mv in versions
    }
    by_hash: dict[str, list[str]] = {}
    for mv in versions:
        if mv.content_hash:
            by_hash.setdefault(mv.content_hash, []).append(label(mv))
    identical = [group for group in by_hash.values() if len(group) > 1]

    version_rows = [
        {
            "ref": label(mv),
            "model": mv.model.name,
            "version": mv.version,
            "stage": mv.stage,
            "status": mv.status,
            "aliases": list(mv.aliases),
            "creator": mv.author or None,  # one rule on every page: ModelVersion.authors
            "run_id": mv.run_id,
            "creation_timestamp": _iso_utc(mv.creation_timestamp),
            "content_hash": mv.content_hash,
            "identical_to": [lab for g in identical if label(mv) in g for lab in g if lab != label(mv)],
        }
        for mv in versions
    ]
    lower = [k for k, goal in goals.items() if goal == "minimize"]
    chart_metrics = {k: metrics[k] for k in list(metrics)[:MAX_CHART_METRICS]}
    figures = {
        "metrics": charts.metric_bars(labels, chart_metrics, lower_is_better=lower),
        "metrics_normalised": charts.metric_bars(
            labels, chart_metrics, normalise=True, lower_is_better=lower
        ),
    }
    metric_names = list(metrics)
    if len(metric_names) >= 2:
        x = scatter_x if scatter_x in metrics else metric_names[0]
        y = scatter_y if scatter_y in metrics else next(k for k in metric_names if k != x)
        figures["scatter"] = charts.scatter(
            [{"label": lab, "metrics": {x: metrics[x][lab], y: metrics[y][lab]}} for lab in labels], x, y
        )
    return {
        "versions": version_rows,
        "metrics": metrics,
        "params": params,
        "tags": tags,
        "differing_params": _differing(params),
        "differing_tags": _differing(tags),
        "metric_goals": goals,
        "primary_metrics": primary,
        "best": best,
        "deltas": deltas,
        "datasets": datasets,
        "differing_datasets": _differing(datasets),
        "signatures": signatures,
        "identical_artifacts": identical,
        "cards": _card_statuses(versions),
        "charts": figures,
    }


def check_metric(metric: str, versions: list[ModelVersion]) -> str:
    """`metric` when at least one of the versions has it; InvalidInput naming it otherwise."""
    metric = (metric or "").strip()
    if not metric:
        raise InvalidInput("Choose a metric: metric=KEY.", field="metric")
    if not any(mv.source_run and metric in mv.source_run.metrics for mv in versions):
        raise InvalidInput(f"No selected version has the metric {metric!r}.", field="metric")
    return metric


# --- across all versions of a model ----------------------------------------------------------------
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
    """{label: points compacted by `charts.compact_history` to at most `max_points`} for each version whose
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
            reduced = charts.compact_series(steps, values, max_points)
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
                series[label(mv)] = charts.compact_history(points, max_points)
    return series, skipped


# --- the table as rows (page and CSV) --------------------------------------------------------------
def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return ""
    return f"{value:+.6g}" if signed else f"{value:.6g}"


def _metric_cell(value: float | None, best: bool, delta: float | None) -> dict:
    """One metric cell, with its classes decided here: the template stays a plain loop (500 cells)."""
    return {
        "value": value,
        "text": _fmt(value),
        "best": best,
        "cls": "num best" if best else "num",
        "delta": delta,
        "delta_text": _fmt(delta, signed=True),
        "delta_cls": "delta small up"
        if delta and delta > 0
        else ("delta small down" if delta else "delta small"),
    }


def table_rows(data: dict) -> dict:
    """The comparison as rows for the page: one cell per version, flags for best values and differences."""
    labels = [v["ref"] for v in data["versions"]]
    primary = set(data["primary_metrics"])
    many = len(labels) > 1
    metrics = []
    for key, row in data["metrics"].items():
        best, deltas = set(data["best"][key]), data["deltas"][key]
        cells = [
            _metric_cell(row[lab], many and lab in best, deltas[lab] if i else None)
            for i, lab in enumerate(labels)
        ]
        metrics.append(
            {"key": key, "goal": data["metric_goals"][key], "primary": key in primary, "cells": cells}
        )

    def plain(section: str, differing: list[str]) -> list[dict]:
        diff = set(differing)
        return [
            {"key": key, "differs": key in diff, "cells": [row[lab] for lab in labels]}
            for key, row in data[section].items()
        ]

    cards = data.get("cards")
    return {
        "labels": labels,
        "metrics": metrics,
        "params": plain("params", data["differing_params"]),
        "tags": plain("tags", data["differing_tags"]),
        "datasets": plain("datasets", data["differing_datasets"]),
        "signatures": [data["signatures"][lab] for lab in labels],
        "cards": [cards.get(lab) for lab in labels] if cards else None,
    }


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def csv_rows(data: dict) -> list[list[str]]:
    """The side-by-side table as CSV rows: section, key, then one column per version (empty = missing)."""
    labels = [v["ref"] for v in data["versions"]]
    rows = [["section", "key", *labels]]
    for field in ("stage", "aliases", "status", "creator", "run_id", "content_hash"):
        # MLflow's stage of an unstaged version is the text "None": a missing value, so an empty cell.
        values = [None if field == "stage" and v[field] == "None" else v[field] for v in data["versions"]]
        rows.append(["version", field, *[_csv_value(v) for v in values]])
    for key, row in data["metrics"].items():
        rows.append(["metric", key, *[_csv_value(row[lab]) for lab in labels]])
    for section, name in (("params", "param"), ("tags", "tag"), ("datasets", "dataset")):
        for key, row in data[section].items():
            rows.append([name, key, *[_csv_value(row[lab]) for lab in labels]])
    for lab in labels[1:]:
        diff = data["signatures"][lab]
        for part in ("inputs", "outputs"):
            changes = (
                [f"+{n}" for n in diff[part]["added"]]
                + [f"-{n}" for n in diff[part]["removed"]]
                + [f"~{c['name']}" for c in diff[part]["changed"]]
            )
            if changes:
                rows.append(
                    [
                        "signature",
                        f"{part} vs {labels[0]}",
                        *[" ".join(changes) if x == lab else "" for x in labels],
                    ]
                )
    if data.get("cards"):
        rows.append(
            [
                "card",
                "completeness",
                *[_csv_value((data["cards"].get(lab) or {}).get("score")) for lab in labels],
            ]
        )
    return rows
