"""Shared plumbing for the benchmarks in bench/ (sync.py, webhook.py, pages.py).

Each benchmark runs standalone from the repository root: it creates a throwaway PostgreSQL database
(``<dbname>_bench_<pid>`` beside the one ``DATABASE_URL`` names), migrates it, starts its own
``mlflow server`` in a temporary directory, and removes all of it at the end.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/registry_governance"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


# --- output ---------------------------------------------------------------------------------------
def emit(name: str, value) -> None:
    """One figure as a ``name: value`` line (floats with 3 decimals)."""
    if isinstance(value, float):
        value = f"{value:.3f}"
    print(f"{name}: {value}", flush=True)


def note(text: str) -> None:
    """Progress and context go to stderr so stdout stays ``name: value`` lines."""
    print(f"# {text}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def count_queries(connection, fn) -> int:
    """SQL statements one call runs (an execute wrapper: the request signals reset Django's query log)."""
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        fn()
    return len(seen)


class Timer:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> Timer:
        self._began = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._began


# --- throwaway PostgreSQL database + Django -------------------------------------------------------
def served_like_make_run() -> dict[str, str]:
    """The environment of a server as `make run` runs it: DEBUG off with throwaway secrets, plain http on
    loopback, static files from the compressed manifest storage (shared with `make run`: collected once)."""
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MLFLOW_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "AUDIT_CHAIN_KEY": secrets.token_urlsafe(32),
        "OUTBOUND_SECRETS_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "SECURE_HSTS_SECONDS": "0",
        "STATIC_ROOT": os.environ.get("STATIC_ROOT", str(REPO / "var" / "staticfiles")),
    }


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _admin_connect(url: str):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    )


@contextlib.contextmanager
def bench_environment(
    *, mlflow_uri: str | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[dict[str, str]]:
    """Create ``<db>_bench_<pid>``, point Django at it, migrate; drop it on the way out.

    Must run before anything imports Django settings (they read the environment at import).
    Yields the environment a child process (web server, Celery worker) needs to share the database.
    """
    base_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not base_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"DATABASE_URL must be PostgreSQL for the benchmarks (got {base_url!r})")
    base_name = urlsplit(base_url).path.lstrip("/") or "registry_governance"
    db_name = f"{base_name}_bench_{os.getpid()}"
    db_url = _with_db(base_url, db_name)
    var_dir = tempfile.mkdtemp(prefix="bench-var-")
    queue = f"bench-{os.getpid()}"
    env = {
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "registry_ui.settings",
        # The SQLite broker (used when REDIS_URL is unset), static root etc. land in a throwaway dir.
        "VAR_DIR": var_dir,
        "CELERY_DEFAULT_QUEUE": queue,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "DEBUG": "true",
    }
    if mlflow_uri:
        env["MLFLOW_TRACKING_URI"] = mlflow_uri
        env["MLFLOW_UI_URL"] = mlflow_uri
    if not os.environ.get("REDIS_URL"):
        # Syncs enqueue follow-up tasks (artifact reads, card drafts). The settings' SQLite broker default
        # fails on enqueue (its transport options reach SQLAlchemy's create_engine), so use the local Redis
        # the Makefile's tests use, on a queue of our own that is purged at the end.
        env["REDIS_URL"] = "redis://127.0.0.1:6379/15"
    env.update(extra_env or {})
    with _admin_connect(base_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db_name}"')
    os.environ.update(env)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        with Timer() as t:
            call_command("migrate", verbosity=0)
        note(f"database {db_name} created and migrated in {t.seconds:.1f} s")
        yield dict(os.environ)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with contextlib.suppress(Exception):
            _purge_queue(queue)
        with _admin_connect(base_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        note(f"database {db_name} dropped")


def _purge_queue(queue: str) -> None:
    """Drop the tasks the benchmark enqueued (artifact reads, card drafts) that no worker will run."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        return  # the SQLite broker lives in the throwaway VAR_DIR
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete(queue, *client.keys(f"{queue}\x06*"))


@contextlib.contextmanager
def mlflow_server(root: str | None = None, **kwargs) -> Iterator:
    """Our own ``mlflow server`` in a temporary directory, stopped (and removed) at the end.

    With ``root`` the store lives there and is kept (to re-run a benchmark on an already populated store).
    """
    from demo.mlflow_process import MlflowServer

    with contextlib.ExitStack() as stack:
        if root is None:
            root = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-mlflow-"))
        server = MlflowServer(Path(root), **kwargs)
        server.start(timeout=120)
        note(f"mlflow server at {server.uri} (started in {server.startup_seconds:.1f} s)")
        try:
            yield server
        finally:
            server.stop()


# --- populating MLflow ----------------------------------------------------------------------------
def mlflow_client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def retry(fn: Callable, *args, attempts: int = 5, **kwargs):
    """MLflow's SQLite store can answer 'database is locked' under concurrent writes: try again."""
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    return None


def populate(
    uri: str,
    *,
    models: int,
    versions: int,
    metrics: int = 10,
    params: int = 10,
    threads: int = 8,
    prefix: str = "bench-model",
    logged_models: bool = False,
) -> list[str]:
    """``models`` registered models × ``versions`` versions, each version with its own run carrying
    ``metrics`` metrics and ``params`` params (one ``log_batch`` per run); with ``logged_models``, each version
    is registered MLflow 3 style from a logged model of its run (its params too). Returns the model names."""
    import logging

    from mlflow.entities import Metric, Param

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # one "waiting for creation" line per version

    client = mlflow_client(uri)
    experiment_id = client.create_experiment(f"{prefix}-experiment-{os.getpid()}")
    names = [f"{prefix}-{i:03d}" for i in range(models)]
    for name in names:
        retry(
            client.create_registered_model, name, tags={"primary_metric": "m0", "primary_metric_goal": "max"}
        )

    now_ms = int(time.time() * 1000)

    def make_run(index: int) -> tuple[str, str | None]:
        run = retry(client.create_run, experiment_id, run_name=f"run-{index}")
        run_id = run.info.run_id
        retry(
            client.log_batch,
            run_id,
            metrics=[Metric(f"m{k}", (index * 7 + k) % 100 / 100, now_ms, 0) for k in range(metrics)],
            params=[Param(f"p{k}", str((index + k) % 13)) for k in range(params)],
        )
        if not logged_models:
            return run_id, None
        params_of = {f"p{k}": str((index + k) % 13) for k in range(params)}
        logged = retry(client.create_logged_model, experiment_id, source_run_id=run_id, params=params_of)
        return run_id, logged.model_id

    total = models * versions
    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        made = list(pool.map(make_run, range(total)))
    note(f"{total} runs with {metrics} metrics + {params} params in {time.perf_counter() - began:.1f} s")

    def make_versions(model_index: int) -> None:
        # Versions of one model are created in order (MLflow numbers them); models run in parallel.
        name = names[model_index]
        for v in range(versions):
            run_id, model_id = made[model_index * versions + v]
            source = f"models:/{model_id}" if model_id else f"runs:/{run_id}/model"
            # Not wrapped in retry(): a repeated create would add a version (the client retries 5xx).
            client.create_model_version(name, source, run_id=run_id, model_id=model_id)

    began = time.perf_counter()
    if models == 1 and versions > 1:
        # One model: the versions must be numbered in order anyway; parallel creation would only race.
        make_versions(0)
    else:
        with ThreadPoolExecutor(min(threads, models)) as pool:
            list(pool.map(make_versions, range(models)))
    note(f"{total} model versions over {models} models in {time.perf_counter() - began:.1f} s")
    return names
