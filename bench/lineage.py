"""Lineage pages: one dataset feeds 100 runs (children of 10 parent runs, each with its commit and two evaluation
datasets of its own), registered as versions of 4 models, some holding targets. Mirror rows are written directly.

  graph_ms          the dataset page's graph downstream of the shared dataset (523 nodes, lineage/datasets.py):
                    facts read in bulk, each version's graph built, merged, laid out on the server
                    (lineage/layout.py), with links, as JSON; median (target 300 ms)
  version_graph_ms  one version's page graph (lineage/views.py graph_json: selectors + layout + links); median
  browser_ready_ms  Chromium, a fresh context: navigation to the dataset's lineage page (523 nodes) until the
                    graph is drawn and a click on the dataset node has filled the side panel; median (target
                    2000 ms); version_browser_ready_ms the same on a version's page (9 nodes)
  impact_ms         `impact(dataset_digest=...)` for the shared dataset (100 runs, 100 versions); median
                    (target 100 ms)

Usage: python bench/lineage.py [--repeats 5]   (make bench-lineage)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import REPO, bench_environment, emit, median, note, served_like_make_run
from bench.firstview import CHROMIUM_ARGS, session_cookie, start_web

TARGETS = {"graph_ms": 300, "browser_ready_ms": 2000, "impact_ms": 100}
SHARED = "sha256-shared-training-data"
MODELS = 4
RUNS = 100
PARENTS = 10


def dataset(digest: str, context: str) -> dict:
    return {"name": digest, "digest": digest, "source_type": "s3", "source": f"s3://bench/{digest}",
            "context": context, "schema": "", "profile": ""}  # fmt: skip


def populate() -> list[tuple[str, int]]:
    from django.utils import timezone

    from approvals.models import TargetHolding
    from mirror.models import ModelVersion, RegisteredModel, Run

    now = timezone.now()
    for p in range(PARENTS):
        Run.objects.create(run_id=f"parent{p:02d}", experiment_id="1", status="FINISHED", synced_at=now)
    models = [
        RegisteredModel.objects.create(name=f"bench-lineage-{m}", synced_at=now, version_count=RUNS // MODELS)
        for m in range(MODELS)
    ]
    versions = []
    for i in range(RUNS):
        run = Run.objects.create(
            run_id=f"run{i:03d}", run_name=f"train-{i}", experiment_id="1", status="FINISHED", synced_at=now,
            tags={"mlflow.parentRunId": f"parent{i % PARENTS:02d}",
                  "mlflow.source.git.commit": f"{i:040x}", "mlflow.source.git.repoURL": "https://git.example/m"},
            datasets=[dataset(SHARED, "training"), dataset(f"eval-{i}", "eval"), dataset(f"test-{i}", "test")],
        )  # fmt: skip
        model = models[i % MODELS]
        number = i // MODELS + 1
        ModelVersion.objects.create(
            model=model, version=number, status="READY", run_id=run.run_id, source_run=run,
            creation_timestamp=now, synced_at=now,
        )  # fmt: skip
        versions.append((model.name, number))
    for model in models:
        for target, number in (("production", 1), ("staging", 2)):
            TargetHolding.objects.create(
                model=model, target=target, version=number, held_from=now, source="observed"
            )
    return versions


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats + 1):  # the first call warms caches and connections, not kept
        began = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - began) * 1000)
    return median(times[1:]), result


def browser_ready(url: str, cookie: str, node_id: str, repeats: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            for _ in range(repeats + 1):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                context.add_cookies([{"name": "sessionid", "value": cookie, "url": url}])
                page = context.new_page()
                began = time.perf_counter()
                page.goto(url, wait_until="commit")
                page.wait_for_selector("#lineage-graph[data-ready='1']", timeout=60_000)
                point = page.evaluate(
                    """id => { const p = window.lineageCy.getElementById(id).renderedPosition();
                               const b = document.getElementById('lineage-graph').getBoundingClientRect();
                               return {x: b.left + p.x, y: b.top + p.y}; }""",
                    node_id,
                )
                page.mouse.click(point["x"], point["y"])
                page.wait_for_selector("#lineage-side-path:not([hidden])", timeout=60_000)
                out.append((time.perf_counter() - began) * 1000)
                context.close()
        finally:
            browser.close()
    return out[1:]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    production = served_like_make_run()
    with bench_environment(extra_env=production) as env:
        from demo.management.commands.devstack import collect_static_once
        from demo.mlflow_process import free_port
        from lineage import datasets, impact, views
        from mirror import access

        if collect_static_once(env, REPO, on_start=lambda: note("collecting static files (about a minute)")):
            note("static files collected")
        versions = populate()
        graph_ms, merged = timed(
            lambda: json.dumps(views.laid_out(datasets.dataset_graph(SHARED)[0])), args.repeats
        )
        merged = json.loads(merged)
        note(f"dataset graph: {len(merged['nodes'])} nodes, {len(merged['edges'])} edges")
        name, number = versions[0]
        mv = access.access_version(type("U", (), {"is_authenticated": True})(), name, number)
        version_ms, page_graph = timed(lambda: json.dumps(views.graph_json(mv, None)), args.repeats)
        note(f"version graph of {name} v{number}: {len(json.loads(page_graph)['nodes'])} nodes")
        impact_ms, found = timed(lambda: impact.impact({"dataset_digest": SHARED}), args.repeats)
        note(f"impact: {found.summary}")
        cookie = session_cookie()
        port = free_port()
        web = start_web(env, port)
        try:
            base = f"http://127.0.0.1:{port}"
            url = f"{base}/lineage/dataset/?digest={SHARED}"
            note(f"measuring {url} in Chromium ({args.repeats} fresh contexts)")
            ready = browser_ready(url, cookie, f"dataset:{SHARED}", args.repeats)
            version_url = f"{base}/lineage/{name}/{number}/"
            version_ready = browser_ready(version_url, cookie, f"model_version:{name}/{number}", args.repeats)
        finally:
            web.terminate()
            web.wait(timeout=30)
    figures = {"graph_ms": graph_ms, "browser_ready_ms": median(ready), "impact_ms": impact_ms}
    emit("graph_nodes", len(merged["nodes"]))
    emit("graph_ms", round(graph_ms, 1))
    emit("version_graph_ms", round(version_ms, 1))
    emit("browser_ready_ms", round(median(ready)))
    emit("version_browser_ready_ms", round(median(version_ready)))
    emit("impact_ms", round(impact_ms, 1))
    for key, target in TARGETS.items():
        emit(f"ratio_{key}", round(figures[key] / target, 3))


if __name__ == "__main__":
    main()
