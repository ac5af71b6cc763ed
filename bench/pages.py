"""Model detail page benchmark: our page for a model with 1,000 versions against MLflow's own search.

    make bench-pages
    .venv/bin/python bench/pages.py --versions 100 --repeats 5     # a quick run

A real ``mlflow server`` gets one registered model with ``--versions`` versions (each with its own run holding
10 metrics and 10 params); a full sync mirrors it into a throwaway PostgreSQL database. Then, in the same run,
median of ``--repeats`` after one warm-up each:
  * ``our_page_ms``: server time of ``/models/<name>/`` (first page, logged-in user), Django's test Client
    in-process (no network), with DEBUG off as in production;
  * ``our_api_ms``: ``/api/v1/models/<name>/versions/`` (first page), same way;
  * ``mlflow_search_ms``: ``GET model-versions/search?filter=name='<name>'&max_results=1000`` over a keep-alive
    HTTP connection on 127.0.0.1, until the whole body is read (no JSON decoding).
Prints those and ``ratio: our_page_ms / mlflow_search_ms`` (target ≤ 1).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import bench_environment, count_queries, emit, median, mlflow_server, note, populate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=8, help="threads populating MLflow")
    args = parser.parse_args()

    with mlflow_server() as server, bench_environment(mlflow_uri=server.uri):
        import requests
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client

        from mirror.models import SyncRun
        from mirror.sync import execute_sync

        (name,) = populate(
            server.uri, models=1, versions=args.versions, threads=args.threads, prefix="pages-model"
        )
        done = execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk)
        if done.status != SyncRun.Status.SUCCEEDED or done.versions_read != args.versions:
            raise SystemExit(f"sync {done.status} with {done.versions_read} versions: {done.error}")
        note(f"mirrored {done.versions_read} versions of {name}")

        settings.DEBUG = False  # no query log, production template behaviour (set before the first render)
        user = get_user_model().objects.create_user(username="bench-reader", password="bench-pw-123456")
        client = Client()
        client.force_login(user)

        page_url = f"/models/{name}/"
        api_url = f"/api/v1/models/{name}/versions/"

        def our_page():
            response = client.get(page_url)
            assert response.status_code == 200, response.status_code

        def our_api():
            response = client.get(api_url, HTTP_ACCEPT="application/json")
            assert response.status_code == 200, response.status_code

        session = requests.Session()
        search_url = f"{server.uri}/api/2.0/mlflow/model-versions/search"
        search_params = {"filter": f"name='{name}'", "max_results": 1000}

        def mlflow_search():
            response = session.get(search_url, params=search_params, timeout=60)
            response.raise_for_status()
            assert response.content

        # Interleaved rounds so machine load hits all three alike.
        samples: dict[str, list[float]] = {"page": [], "api": [], "mlflow": []}
        for fn in (our_page, our_api, mlflow_search):
            fn()  # warm-up
        for _ in range(args.repeats):
            for key, fn in (("page", our_page), ("api", our_api), ("mlflow", mlflow_search)):
                began = time.perf_counter()
                fn()
                samples[key].append((time.perf_counter() - began) * 1000)

        returned = len(session.get(search_url, params=search_params, timeout=60).json()["model_versions"])
        page_queries, api_queries = count_queries(connection, our_page), count_queries(connection, our_api)
        page_bytes = len(client.get(page_url).content)

        emit("versions", args.versions)
        emit("mlflow_search_versions_returned", returned)
        emit("our_page_ms", median(samples["page"]))
        emit("our_page_queries", page_queries)
        emit("our_page_bytes", page_bytes)
        emit("our_api_ms", median(samples["api"]))
        emit("our_api_queries", api_queries)
        emit("mlflow_search_ms", median(samples["mlflow"]))
        emit("ratio", median(samples["page"]) / median(samples["mlflow"]))
        emit("api_ratio", median(samples["api"]) / median(samples["mlflow"]))
        emit("target_ratio", 1.0)


if __name__ == "__main__":
    main()
