"""The gateway's incremental reads, for the frequent reconcile (`mirror.reconcile`). Part of the one gateway to
MLflow: it calls MLflow only through `mirror.gateway`'s plumbing (the same REST calls, timeouts, retries and
error mapping) and returns the same dataclasses; it imports no `mlflow` of its own.

What MLflow 3.17 offers an incremental reader (checked against its server and its SQL store):
- `model-versions/search` orders by `last_updated_timestamp` (its default order, asked explicitly here) but
  cannot filter on it, so versions are read newest first, page by page, until an older one;
- a version's stamp moves on creation, a description edit, a stage transition and a rename; a registered
  model's on a version created or deleted, a stage transition, a description edit and a rename. Tags and
  aliases (of either) move no stamp: `registered-models/search` lists every model with its tags and aliases
  (one call per 1,000 models), and version tags are left to webhooks and the full sweep;
- `runs/search` filters on `attributes.end_time`, but logging a metric moves nothing on a run.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings

from common.errors import MlflowRejected, MlflowUnavailable
from mirror import gateway
from mirror.mlflow_data import MlflowRun, MlflowVersion, parse_run, parse_version, quote_filter_value

NEWEST_FIRST = ["last_updated_timestamp DESC", "name ASC", "version_number DESC"]
FIRST_PAGE = 50  # a quiet registry: one small page; busier ones grow the pages ×4 up to MLFLOW_PAGE_SIZE
NAMES_PER_QUERY = 50
EXPERIMENTS_PER_QUERY = 100

_pages = gateway._pages  # the gateway's paging over its one REST call


def server_time_ms() -> int | None:
    """MLflow's own clock, from the `Date` header of its health answer, so the watermark never depends on our
    clock; None when the server (or a proxy) sends no date. It may be behind by up to about two seconds (whole
    seconds, rounded down, and servers refresh the header about once a second): a later watermark would lose
    writes, an earlier one only reads a little again."""
    url = settings.MLFLOW_TRACKING_URI.rstrip("/") + "/health"
    try:
        response = requests.get(url, timeout=settings.MLFLOW_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise MlflowUnavailable(f"MLflow at {settings.MLFLOW_TRACKING_URI} is unreachable: {exc}") from exc
    try:
        return int(parsedate_to_datetime(response.headers["Date"]).timestamp() * 1000)
    except (KeyError, TypeError, ValueError):
        return None


def versions_since(since_ms: int, model_aliases: dict[str, dict[str, int]]) -> list[MlflowVersion]:
    """Every version MLflow stamped at or after `since_ms`, newest first."""
    found: list[MlflowVersion] = []
    token, size = None, FIRST_PAGE
    while True:
        params: dict[str, Any] = {"max_results": size, "order_by": NEWEST_FIRST}
        if token:
            params["page_token"] = token
        body = gateway._call("/api/2.0/mlflow/model-versions/search", "GET", params=params)
        page = body.get("model_versions", [])
        for raw in page:
            if int(raw.get("last_updated_timestamp") or 0) < since_ms:
                return found  # newest first: everything after it is older still
            found.append(parse_version(raw, model_aliases.get(raw["name"])))
        token = body.get("next_page_token")
        if not token or not page:
            return found
        size = min(size * 4, settings.MLFLOW_PAGE_SIZE)


def versions_of(names: Iterable[str], model_aliases: dict[str, dict[str, int]]) -> list[MlflowVersion]:
    """Every live version of these registered models (`name IN (...)` in chunks), complete per model."""
    wanted = sorted(set(names))
    versions: list[MlflowVersion] = []
    for start in range(0, len(wanted), NAMES_PER_QUERY):
        chunk = wanted[start : start + NAMES_PER_QUERY]
        try:
            versions.extend(_search_versions(_in_filter("name", chunk), model_aliases))
        except MlflowRejected:
            # A name MLflow's filter parser cannot take in a list (quotes, backslashes): one by one.
            for name in chunk:
                versions.extend(_search_versions(f"name={quote_filter_value(name)}", model_aliases))
    return versions


def _search_versions(filter_string: str, model_aliases: dict[str, dict[str, int]]) -> list[MlflowVersion]:
    found = []
    params = {"filter": filter_string, "max_results": settings.MLFLOW_PAGE_SIZE}
    for page in _pages("/api/2.0/mlflow/model-versions/search", "model_versions", **params):
        found.extend(parse_version(raw, model_aliases.get(raw["name"])) for raw in page)
    return found


def runs_ended_since(experiment_ids: Iterable[str], since_ms: int) -> dict[str, MlflowRun]:
    """Runs of these experiments that ended at or after `since_ms` (the run's own clock: its client's)."""
    wanted = sorted({e for e in experiment_ids if e})
    found: dict[str, MlflowRun] = {}
    for start in range(0, len(wanted), EXPERIMENTS_PER_QUERY):
        for page in _pages(
            "/api/2.0/mlflow/runs/search", "runs", method="POST",
            experiment_ids=wanted[start : start + EXPERIMENTS_PER_QUERY],
            filter=f"attributes.end_time >= {int(since_ms)}", max_results=1000, run_view_type="ALL",
        ):  # fmt: skip
            for raw in page:
                run = parse_run(raw)
                found[run.run_id] = run
    return found


def runs_by_id(run_ids: Iterable[str], experiment_ids: Iterable[str]) -> dict[str, MlflowRun]:
    """Runs by id in batches, in experiments the mirror already knows (no experiment listing)."""
    experiments = sorted({e for e in experiment_ids if e})
    if not experiments:
        return {}
    return gateway.get_runs(run_ids, experiments=experiments)


def runs_and_logged_models(versions: list[MlflowVersion]):
    """The source runs and logged models of these versions, as a full read gets them."""
    return gateway._runs_and_logged_models(versions)


def _in_filter(field: str, values: list[str]) -> str:
    return f"{field} IN (" + ",".join(quote_filter_value(v) for v in values) + ")"
