"""The side-by-side data of a comparison, for versions resolved by `compare.refs`.

`comparison()` is what both the page and `GET /api/v1/compare/` return, so they show the same numbers.
Queries are bounded whatever the number of metrics: one to resolve the versions (with their models and
source runs), one more to name an unknown model, and the trend/parallel reads (`compare.history`) are one
query each.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.db import transaction

from cards import selectors as card_selectors
from common.errors import InvalidInput
from compare import charts
from compare.goals import metric_goals
from compare.refs import label
from mirror.models import ModelVersion

logger = logging.getLogger(__name__)

MAX_CHART_METRICS = 30  # the bar charts show the first N metrics (the primary metric first)


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
    """Card completeness per version (one query with the cards' bulk read)."""
    try:
        # A savepoint: another feature's failure must neither break the comparison nor the transaction.
        with transaction.atomic():
            statuses = card_selectors.scores_for_versions(versions)
            found = [statuses.get(mv.pk) for mv in versions]
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
    best, deltas = _best_and_deltas(labels, metrics, goals)
    datasets = _dataset_rows(labels, versions)
    identical = _identical_groups(versions)
    return {
        "versions": _version_rows(versions, identical),
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
        "signatures": _signatures(versions),
        "identical_artifacts": identical,
        "cards": _card_statuses(versions),
        "charts": _figures(labels, metrics, goals, scatter_x, scatter_y),
    }


def _best_and_deltas(
    labels: list[str], metrics: dict[str, dict[str, Any]], goals: dict[str, str]
) -> tuple[dict[str, list[str]], dict[str, dict[str, float | None]]]:
    """Per metric: the labels of the best value (by its goal), and each value's delta to the first version's."""
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
    return best, deltas


def _signatures(versions: list[ModelVersion]) -> dict[str, dict]:
    base_signature = versions[0].signature if versions else None
    return {
        label(mv): {
            "present": mv.signature is not None,
            "read": mv.artifacts_read_at is not None,
            **signature_diff(base_signature, mv.signature),
        }
        for mv in versions
    }


def _identical_groups(versions: list[ModelVersion]) -> list[list[str]]:
    """Groups of two or more versions with the same artifact content hash."""
    by_hash: dict[str, list[str]] = {}
    for mv in versions:
        if mv.content_hash:
            by_hash.setdefault(mv.content_hash, []).append(label(mv))
    return [group for group in by_hash.values() if len(group) > 1]


def _version_rows(versions: list[ModelVersion], identical: list[list[str]]) -> list[dict]:
    return [
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


def _figures(
    labels: list[str],
    metrics: dict[str, dict[str, Any]],
    goals: dict[str, str],
    scatter_x: str | None,
    scatter_y: str | None,
) -> dict[str, Any]:
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
    return figures


def check_metric(metric: str, versions: list[ModelVersion]) -> str:
    """`metric` when at least one of the versions has it; InvalidInput naming it otherwise."""
    metric = (metric or "").strip()
    if not metric:
        raise InvalidInput("Choose a metric: metric=KEY.", field="metric")
    if not any(mv.source_run and metric in mv.source_run.metrics for mv in versions):
        raise InvalidInput(f"No selected version has the metric {metric!r}.", field="metric")
    return metric
