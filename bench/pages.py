"""Reading benchmark: our pages and API against what MLflow serves for the same view, both over HTTP.

    make bench-pages
    .venv/bin/python bench/pages.py --versions 100 --repeats 5     # a quick run

A real ``mlflow server`` (uvicorn, 1 worker) gets one registered model with ``--versions`` versions (each with
its own run holding 10 metrics and 10 params); a full sync mirrors it into a throwaway PostgreSQL database.
Our app runs as `make run` serves it: gunicorn (2 workers x 4 threads), DEBUG off, static files from the
compressed manifest storage. Both are timed the same way: a ``requests`` session on 127.0.0.1 with a kept-alive
connection (ours carrying a logged-in user's session cookie), from sending the request until the whole body
is read, no decoding. One warm-up of each, then ``--repeats`` interleaved rounds; medians. Three pairs:

  * model page: our ``/models/<name>/`` (first page of versions) against MLflow's
    ``model-versions/search?filter=name='<name>'`` with ``max_results=1000`` (what MLflow's UI loads: every
    version, each with its tags and aliases);
  * version page: our ``/models/<name>/versions/<v>/`` (the middle version) against MLflow's
    ``model-versions/get`` then ``runs/get`` of its run (what MLflow's UI needs for that page: the version,
    then its run's metrics, params and tags);
  * API list: our ``/api/v1/models/<name>/versions/`` (first page) against MLflow's ``model-versions/search``
    returning the same number of versions (``max_results`` = our page's length).

Prints each pair (``*_ms``), the SQL queries and bytes of ours, ``model_page_ratio``, ``version_page_ratio``,
``api_list_ratio`` (ours / MLflow's) and ``ratio:`` the worst of the three (target ≤ 1).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serve import gunicorn_app, session_cookie
from bench._support import (
    bench_environment,
    count_queries,
    emit,
    median,
    mlflow_server,
    note,
    populate,
    served_like_make_run,
)

TARGET_RATIO = 1.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=8, help="threads populating MLflow")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with (
        mlflow_server() as server,
        bench_environment(mlflow_uri=server.uri, extra_env=served_like_make_run()) as env,
    ):
        name = mirror_one_model(server.uri, args)
        cookie = session_cookie("bench-reader")
        with gunicorn_app(env) as base:
            requests_of = Requests(base, server.uri, name, cookie, version=max(1, args.versions // 2))
            samples = measure(requests_of, args.repeats)
            counts = query_counts(requests_of)
            emit_figures(args, requests_of, samples, counts)


def mirror_one_model(uri: str, args) -> str:
    from mirror.models import SyncRun
    from mirror.sync import execute_sync

    (name,) = populate(uri, models=1, versions=args.versions, threads=args.threads, prefix="pages-model")
    done = execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk)
    if done.status != SyncRun.Status.SUCCEEDED or done.versions_read != args.versions:
        raise SystemExit(f"sync {done.status} with {done.versions_read} versions: {done.error}")
    note(f"mirrored {done.versions_read} versions of {name}")
    return name


class Requests:
    """The six requests, each on one of two keep-alive sessions (ours, MLflow's)."""

    def __init__(self, base: str, mlflow_uri: str, name: str, cookie: str, *, version: int) -> None:
        import requests

        self.name, self.version = name, version
        self.ours = requests.Session()
        self.ours.cookies.set("sessionid", cookie)
        self.mlflow = requests.Session()
        self.base, self.api = base, f"{mlflow_uri}/api/2.0/mlflow"
        self.page_url = f"/models/{name}/"
        self.version_url = f"/models/{name}/versions/{version}/"
        self.list_url = f"/api/v1/models/{name}/versions/"
        self.bytes: dict[str, int] = {}
        listed = self.ours.get(base + self.list_url, headers={"Accept": "application/json"}, timeout=60)
        listed.raise_for_status()
        self.api_page_length = len(listed.json()["results"])
        got = self._mlflow("model-versions/get", name=name, version=version).json()
        self.run_id = got["model_version"]["run_id"]

    def _ours(self, key: str, url: str, **headers: str) -> None:
        response = self.ours.get(self.base + url, headers=headers, timeout=60, allow_redirects=False)
        assert response.status_code == 200, (url, response.status_code)
        self.bytes[key] = len(response.content)

    def _mlflow(self, path: str, **params):
        response = self.mlflow.get(f"{self.api}/{path}", params=params, timeout=60)
        response.raise_for_status()
        assert response.content
        return response

    def our_page(self) -> None:
        self._ours("page", self.page_url)

    def our_version(self) -> None:
        self._ours("version", self.version_url)

    def our_list(self) -> None:
        self._ours("list", self.list_url, Accept="application/json")

    def mlflow_search_all(self) -> None:
        self._mlflow("model-versions/search", filter=f"name='{self.name}'", max_results=1000)

    def mlflow_version(self) -> None:
        self._mlflow("model-versions/get", name=self.name, version=self.version)
        self._mlflow("runs/get", run_id=self.run_id)

    def mlflow_search_page(self) -> None:
        self._mlflow("model-versions/search", filter=f"name='{self.name}'", max_results=self.api_page_length)

    def pairs(self):
        return {
            "our_page": self.our_page,
            "mlflow_model_page": self.mlflow_search_all,
            "our_version_page": self.our_version,
            "mlflow_version_page": self.mlflow_version,
            "our_api_list": self.our_list,
            "mlflow_api_list": self.mlflow_search_page,
        }


def measure(requests_of: Requests, repeats: int) -> dict[str, list[float]]:
    """One warm-up each, then interleaved rounds so machine load hits every request alike."""
    calls = requests_of.pairs()
    for call in calls.values():
        call()
    samples: dict[str, list[float]] = {key: [] for key in calls}
    for _ in range(repeats):
        for key, call in calls.items():
            began = time.perf_counter()
            call()
            samples[key].append((time.perf_counter() - began) * 1000)
    return samples


def query_counts(requests_of: Requests) -> dict[str, int]:
    """SQL statements of each of our requests, served in-process by the same code (DEBUG off)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="bench-reader"))

    def get(url: str, **extra):
        def call():
            response = client.get(url, **extra)
            assert response.status_code == 200, (url, response.status_code)

        return call

    return {
        "page": count_queries(connection, get(requests_of.page_url)),
        "version": count_queries(connection, get(requests_of.version_url)),
        "list": count_queries(connection, get(requests_of.list_url, HTTP_ACCEPT="application/json")),
    }


def emit_figures(
    args, requests_of: Requests, samples: dict[str, list[float]], counts: dict[str, int]
) -> None:
    ms = {key: median(values) for key, values in samples.items()}
    emit("versions", args.versions)
    emit("repeats", args.repeats)
    emit("our_page_ms", ms["our_page"])
    emit("our_page_queries", counts["page"])
    emit("our_page_bytes", requests_of.bytes["page"])
    emit("mlflow_model_page_ms", ms["mlflow_model_page"])
    emit("our_version_page_ms", ms["our_version_page"])
    emit("our_version_page_queries", counts["version"])
    emit("our_version_page_bytes", requests_of.bytes["version"])
    emit("mlflow_version_page_ms", ms["mlflow_version_page"])
    emit("our_api_list_ms", ms["our_api_list"])
    emit("our_api_list_queries", counts["list"])
    emit("our_api_list_versions", requests_of.api_page_length)
    emit("mlflow_api_list_ms", ms["mlflow_api_list"])
    ratios = {
        "model_page_ratio": ms["our_page"] / ms["mlflow_model_page"],
        "version_page_ratio": ms["our_version_page"] / ms["mlflow_version_page"],
        "api_list_ratio": ms["our_api_list"] / ms["mlflow_api_list"],
    }
    for key, value in ratios.items():
        emit(key, value)
    emit("target_ratio", TARGET_RATIO)
    emit("ratio", max(ratios.values()))


if __name__ == "__main__":
    main()
