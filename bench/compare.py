"""Comparison benchmark: the compare page, the trend over every version, and overlaid metric histories.

    .venv/bin/python bench/compare.py                      # 1,000 versions, 10 compared, 20 repeats
    .venv/bin/python bench/compare.py --repeats 5          # a quicker run

Standalone: creates a throwaway PostgreSQL database beside the one ``DATABASE_URL`` names, migrates it and
fills the mirror directly (no MLflow needed): one model with ``--versions`` versions, each with a source run
holding ``--metrics`` metrics and 10 params; ``--compared`` of its runs get a cached history of ``--steps``
steps for one metric (MetricHistory rows, as `mirror.services.metric_history` would have cached them).

Server times, Django's test Client in-process with DEBUG off, median of ``--repeats`` after a warm-up:
  * ``compare_page_ms`` — ``/compare/?model=..&versions=..`` (10 versions x 50 metrics), and
    ``compare_api_ms`` — ``/api/v1/compare/`` with the same selection;
  * ``trend_ms`` — ``/api/v1/models/{name}/trend?metric=..`` over every version (1,000), and
    ``trend_chart_ms`` / ``parallel_chart_ms`` — the figures built over all of them;
  * ``history_ms`` and ``history_bytes`` — ``/api/v1/compare/history`` overlaying 10 x 10,000 steps,
    downsampled to 2,000 points a line (the downsampled series then in Django's cache), and
    ``history_cold_ms`` — the same with that cache cleared (decoding the 10 mirror rows; informative).
Targets: each ``*_ms`` ≤ 300 and ``history_bytes`` ≤ 500,000.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import bench_environment, count_queries, emit, median, note

TARGET_MS = 300.0
TARGET_HISTORY_BYTES = 500_000


def populate(*, versions: int, metrics: int, compared: int, steps: int) -> tuple[str, list[int], str]:
    from django.utils import timezone

    from mirror.models import MetricHistory, ModelVersion, RegisteredModel, Run

    now = timezone.now()
    name = "bench-compare"
    keys = [f"metric_{i:02d}" for i in range(metrics)]
    model = RegisteredModel.objects.create(
        name=name,
        tags={"primary_metric": keys[0], "primary_metric_goal": "maximize"},
        aliases={"champion": versions - 3, "challenger": versions},
        version_count=versions,
        latest_version=versions,
        synced_at=now,
    )
    runs = Run.objects.bulk_create(
        [
            Run(
                run_id=f"benchrun{v:06d}",
                experiment_id="1",
                status="FINISHED",
                metrics={k: 0.5 + 0.4 * math.sin(v / 37 + i) for i, k in enumerate(keys)},
                params={f"param_{j}": str((v * (j + 1)) % 7) for j in range(10)},
                tags={"mlflow.user": "bench"},
                datasets=[{"name": "train", "digest": f"d{v % 5}", "context": "training"}],
                synced_at=now,
            )
            for v in range(1, versions + 1)
        ],
        batch_size=500,
    )
    aliases = {versions - 3: ["champion"], versions: ["challenger"]}
    ModelVersion.objects.bulk_create(
        [
            ModelVersion(
                model=model,
                version=v,
                status="READY",
                aliases=aliases.get(v, []),
                run_id=run.run_id,
                source_run=run,
                creation_timestamp=now,
                synced_at=now,
            )
            for v, run in zip(range(1, versions + 1), runs, strict=True)
        ],
        batch_size=500,
    )
    chosen = list(range(versions - compared + 1, versions + 1))
    for v in chosen:
        run = runs[v - 1]
        points = [
            {
                "step": s,
                "timestamp": 1_700_000_000_000 + s,
                "value": math.exp(-s / 2000) + 0.01 * math.sin(s + v),
            }
            for s in range(steps)
        ]
        MetricHistory.objects.create(run=run, key=keys[0], points=points, fetched_at=now)
    return name, chosen, keys[0]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--metrics", type=int, default=50)
    parser.add_argument("--compared", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with bench_environment():
        began = time.perf_counter()
        name, chosen, metric = populate(
            versions=args.versions, metrics=args.metrics, compared=args.compared, steps=args.steps
        )
        note(f"mirror filled in {time.perf_counter() - began:.1f} s: {args.versions} versions of {name}")
        fetcher = Fetcher(name, chosen, metric)
        samples = measure_warm(fetcher, args.repeats)
        cold = measure_cold(fetcher, args.repeats)
        emit_figures(args, chosen, fetcher, samples, cold)


class Fetcher:
    """The comparison URLs of the chosen versions, fetched by a logged-in reader (DEBUG off); remembers each
    response's size."""

    def __init__(self, name: str, chosen: list[int], metric: str) -> None:
        from urllib.parse import quote, urlencode

        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.test import Client

        settings.DEBUG = False
        user = get_user_model().objects.create_user(username="bench-reader", password="bench-pw-123456")
        self.client = Client()
        self.client.force_login(user)
        selection = urlencode({"model": name, "versions": ",".join(map(str, chosen))})
        model_path = quote(name)
        self.urls = {
            "compare_page": f"/compare/?{selection}",
            "compare_api": f"/api/v1/compare/?{selection}",
            "trend": f"/api/v1/models/{model_path}/trend?metric={metric}",
            "trend_chart": f"/api/v1/models/{model_path}/trend/chart?metric={metric}",
            "parallel_chart": f"/api/v1/models/{model_path}/parallel/chart?metric={metric}",
            "history": f"/api/v1/compare/history?{selection}&metric={metric}",
        }
        self.sizes: dict[str, int] = {}

    def get(self, key: str) -> None:
        response = self.client.get(self.urls[key], HTTP_ACCEPT="application/json")
        assert response.status_code == 200, (key, response.status_code, response.content[:300])
        self.sizes[key] = len(response.content)


def measure_warm(fetcher: Fetcher, repeats: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {key: [] for key in fetcher.urls}
    for key in fetcher.urls:
        fetcher.get(key)  # warm-up
    for _ in range(repeats):  # interleaved rounds, so machine load hits every URL alike
        for key in fetcher.urls:
            t0 = time.perf_counter()
            fetcher.get(key)
            samples[key].append((time.perf_counter() - t0) * 1000)
    return samples


def measure_cold(fetcher: Fetcher, repeats: int) -> list[float]:
    """The downsampled histories not in Django's cache yet (the first view after a fetch)."""
    from django.core.cache import cache

    cold = []
    for _ in range(min(repeats, 5)):
        cache.clear()
        t0 = time.perf_counter()
        fetcher.get("history")
        cold.append((time.perf_counter() - t0) * 1000)
    return cold


def emit_figures(args, chosen, fetcher: Fetcher, samples: dict[str, list[float]], cold: list[float]) -> None:
    from django.db import connection

    urls, sizes = fetcher.urls, fetcher.sizes
    emit("versions", args.versions)
    emit("compared_versions", len(chosen))
    emit("metrics_per_version", args.metrics)
    emit("history_steps_per_version", args.steps)
    for key in urls:
        emit(f"{key}_ms", median(samples[key]))
    emit("history_cold_ms", median(cold))
    for key in ("compare_page", "compare_api", "trend", "history"):
        emit(f"{key}_queries", count_queries(connection, lambda k=key: fetcher.get(k)))
    emit("compare_page_bytes", sizes["compare_page"])
    emit("history_bytes", sizes["history"])
    emit("target_ms", TARGET_MS)
    emit("target_history_bytes", TARGET_HISTORY_BYTES)
    slow = [key for key in urls if median(samples[key]) > TARGET_MS]
    big = sizes["history"] > TARGET_HISTORY_BYTES
    emit(
        "within_targets",
        "yes" if not slow and not big else f"no ({', '.join(slow + (['history_bytes'] if big else []))})",
    )


if __name__ == "__main__":
    main()
