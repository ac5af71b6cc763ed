"""Batched reads by id over MLflow's search endpoints (`runs/search` by `attributes.run_id`, `logged-models/search`
by `model_id`): chunks of ids in one `IN (...)` filter each, never one get per id. Transport-free: the gateway
passes its own paging function, so this module neither calls MLflow nor imports the gateway."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mirror.mlflow_data import ProgressFn, quote_filter_value

Pages = Callable[..., Iterator[list[dict]]]


def by_ids(
    pages: Pages,
    endpoint: str,
    key: str,
    field: str,
    ids: Iterable[str],
    parse: Callable[[dict], Any],
    id_attr: str,
    *,
    batch: int,
    progress: ProgressFn | None = None,
    **params: Any,
) -> dict[str, Any]:
    """{id: parse(raw)} of every item found; `field IN (...)` filters chunks of `batch` ids."""
    found: dict[str, Any] = {}
    for chunk in chunks_by_ids(
        pages, endpoint, key, field, ids, parse, id_attr, batch=batch, progress=progress, **params
    ):
        found.update(chunk)
    return found


def chunks_by_ids(
    pages: Pages,
    endpoint: str,
    key: str,
    field: str,
    ids: Iterable[str],
    parse: Callable[[dict], Any],
    id_attr: str,
    *,
    batch: int,
    progress: ProgressFn | None = None,
    **params: Any,
) -> Iterator[dict[str, Any]]:
    """`by_ids` one chunk at a time: {id: parse(raw)} of the items found for each `batch` of ids, as read."""
    wanted = sorted({i for i in ids if i})
    for start in range(0, len(wanted), batch):
        chunk = wanted[start : start + batch]
        in_filter = f"{field} IN (" + ",".join(quote_filter_value(i) for i in chunk) + ")"
        found: dict[str, Any] = {}
        for page in pages(endpoint, key, method="POST", filter=in_filter, max_results=len(chunk), **params):
            for raw in page:
                item = parse(raw)
                found[getattr(item, id_attr)] = item
        if progress:
            progress(key, min(start + batch, len(wanted)), len(wanted))
        yield found
