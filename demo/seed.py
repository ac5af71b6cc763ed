"""Populate an MLflow server with real demo models trained on scikit-learn's bundled data sets.

This is a demo tool that writes to MLflow as a *user* would (not the app's gateway), so it imports mlflow.

Three registered models, each with several versions from their own runs: parameters, metric
histories, final test metrics, datasets, code tags, signatures, input examples, tags, descriptions
and aliases. Versions are made by ``alice`` or ``bob`` so that segregation of duties shows.
Seeding is idempotent: a version already seeded (version tag ``demo.key``) is not made again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from demo.catalog import DEMO_MODELS, ModelSpec, VersionSpec
from demo.training import SEED, Splits, load_splits, test_metrics, train_with_history

REPO_URL = "https://github.com/example-bank/ml-models"
DATA_DOCS = "https://scikit-learn.org/stable/datasets/toy_dataset.html"
TREE_TYPES = ["sklearn.tree._tree.Tree"]


def fake_commit(*parts: str) -> str:
    """A plausible, deterministic 40-hex git sha for demo code tags."""
    return hashlib.sha1(":".join(("demo", *parts)).encode()).hexdigest()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the warnings and banners that training and logging print for a demo."""
    quiet_env = {
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
        "MLFLOW_PRINT_MODEL_URLS_ON_CREATION": "false",
    }
    saved_env = {key: os.environ.get(key) for key in quiet_env}
    os.environ.update(quiet_env)
    mlflow_logger = logging.getLogger("mlflow")
    saved_level = mlflow_logger.level
    mlflow_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        mlflow_logger.setLevel(saved_level)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _existing_keys(client: Any, model_name: str) -> dict[str, str]:
    """demo.key -> version number of the versions already seeded for this model."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(model_name)
    except MlflowException:
        return {}
    versions = client.search_model_versions(f"name = '{model_name}'")
    return {v.tags["demo.key"]: v.version for v in versions if "demo.key" in v.tags}


def _seed_version(
    client: Any, model: ModelSpec, spec: VersionSpec, splits: Splits, experiment_id: str
) -> str:
    import mlflow
    import mlflow.data
    import mlflow.sklearn
    from mlflow.entities import Metric
    from mlflow.models import infer_signature

    fitted, history = train_with_history(spec, model.task, splits)
    final = test_metrics(model.task, fitted, splits)
    commit = fake_commit(model.name, spec.key)
    train_df = splits.X_train.assign(target=splits.y_train)
    val_df = splits.X_val.assign(target=splits.y_val)
    test_df = splits.X_test.assign(target=splits.y_test)
    short = model.dataset.removeprefix("load_")
    source = f"{DATA_DOCS}#{short.replace('_', '-')}-dataset"

    tags = {
        "mlflow.user": spec.user,
        "mlflow.source.name": model.source_name,
        "mlflow.source.type": "JOB",
        "mlflow.source.git.commit": commit,
        "mlflow.source.git.repoURL": REPO_URL,
        "mlflow.source.git.branch": "main",
        "mlflow.runName": spec.key,
        "demo.key": spec.key,
    }
    with mlflow.start_run(experiment_id=experiment_id, run_name=spec.key, tags=tags) as run:
        mlflow.log_params({"estimator": spec.estimator, **spec.params, "random_state": SEED})
        for frame, name, context in (
            (train_df, f"{short}-train", "training"),
            (val_df, f"{short}-validation", "validation"),
            (test_df, f"{short}-test", "evaluation"),
        ):
            # Real digests (of the frames' contents): the same split is one dataset node in every graph.
            dataset = mlflow.data.from_pandas(frame, source=source, name=name, targets="target")
            mlflow.log_input(dataset, context=context)

        now = int(time.time() * 1000)
        metrics = [
            Metric(key, value, now - (len(history) - step) * 1000, step)
            for step, train_loss, val_loss in history
            for key, value in (("train_loss", train_loss), ("val_loss", val_loss))
        ]
        client.log_batch(run.info.run_id, metrics=metrics)

        input_example = splits.X_test[:5]
        signature = infer_signature(input_example, fitted.predict(input_example))
        # Explicit requirements: inferring them spawns a subprocess per model (seconds each).
        requirements = mlflow.sklearn.get_default_pip_requirements(include_skops=True)
        # log_model prints registration chatter straight to stderr; our progress lines say it.
        with contextlib.redirect_stderr(io.StringIO()):
            info = mlflow.sklearn.log_model(
                fitted,
                name="model",
                signature=signature,
                input_example=input_example,
                pip_requirements=requirements,
                # Trees are stored in a type skops does not trust by default; these ones we just made.
                skops_trusted_types=None if spec.estimator == "logistic_regression" else TREE_TYPES,
                registered_model_name=model.name,
            )
        # The final test metrics, on the run and on the logged model (MLflow 3), linked to the test split by its
        # name and digest: the lineage graph draws data → run → logged model → version.
        mlflow.log_metrics(final, step=0, timestamp=now, model_id=info.model_id, dataset=dataset)
    version = str(info.registered_model_version)
    client.update_model_version(model.name, version, description=spec.description)
    version_tags = {
        "demo.key": spec.key,
        "data.rows": str(len(splits.frame)),
        "data.train_rows": str(len(train_df)),
        "data.test_rows": str(len(test_df)),
        "git.commit": commit,
    }
    if spec.data_validated:
        version_tags["data_validated"] = "true"
    for key, value in version_tags.items():
        client.set_model_version_tag(model.name, version, key, value)
    return version


def seed_demo(tracking_uri: str, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Seed the demo models into the MLflow server at ``tracking_uri``; do nothing if present.

    Returns ``{"tracking_uri", "created", "seconds", "models": {name: {"created": [versions],
    "existing": [versions], "aliases": {alias: version}}}}`` where ``created`` says whether
    anything new was written.
    """
    from mlflow import MlflowClient

    began = time.monotonic()
    _check_reachable(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    summary: dict[str, Any] = {"tracking_uri": tracking_uri, "created": False, "models": {}}

    existing = {model.name: _existing_keys(client, model.name) for model in DEMO_MODELS}
    if all(all(v.key in existing[model.name] for v in model.versions) for model in DEMO_MODELS):
        for model in DEMO_MODELS:
            summary["models"][model.name] = {
                "created": [],
                "existing": sorted(existing[model.name].values(), key=int),
                "aliases": {},
            }
        summary["seconds"] = round(time.monotonic() - began, 2)
        log(f"Demo models already present in {tracking_uri}; nothing to do.")
        return summary

    with _pointing_at(tracking_uri), _quiet():
        for model in DEMO_MODELS:
            summary["models"][model.name] = _seed_model(client, model, existing[model.name], log)
    summary["created"] = any(m["created"] for m in summary["models"].values())
    summary["seconds"] = round(time.monotonic() - began, 2)
    log(f"Seeded the demo into {tracking_uri} in {summary['seconds']:.1f} s.")
    return summary


def _check_reachable(tracking_uri: str) -> None:
    """Fail in seconds, not after MLflow's minutes of HTTP retries, when the server is down."""
    if not tracking_uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(f"{tracking_uri.rstrip('/')}/health", timeout=5):
            pass
    except (urllib.error.URLError, OSError) as exc:
        raise ConnectionError(f"MLflow is not reachable at {tracking_uri}: {exc}") from exc


@contextlib.contextmanager
def _pointing_at(tracking_uri: str) -> Iterator[None]:
    """Point mlflow's fluent API at ``tracking_uri``, then put back whatever the caller had."""
    import mlflow
    from mlflow.tracking import _model_registry, _tracking_service

    tracking_utils = _tracking_service.utils
    registry_utils = _model_registry.utils
    saved = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    saved_env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        yield
    finally:
        tracking_utils._tracking_uri, registry_utils._registry_uri = saved
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _seed_model(
    client: Any, model: ModelSpec, existing: dict[str, str], log: Callable[[str], None]
) -> dict[str, Any]:
    import mlflow
    from mlflow.exceptions import MlflowException

    experiment = mlflow.set_experiment(f"demo/{model.name}")
    try:
        client.get_registered_model(model.name)
    except MlflowException:
        client.create_registered_model(model.name)
    client.update_registered_model(model.name, description=model.description)
    client.set_registered_model_tag(model.name, "primary_metric", model.primary_metric)
    client.set_registered_model_tag(model.name, "primary_metric_goal", model.primary_metric_goal)
    client.set_registered_model_tag(model.name, "task", model.task)
    client.set_registered_model_tag(model.name, "demo", "true")

    splits = load_splits(model.dataset, model.task)
    versions = dict(existing)
    created = []
    for spec in model.versions:
        if spec.key in versions:
            log(f"  {model.name}: {spec.key} already version {versions[spec.key]}")
            continue
        started = time.monotonic()
        version = _seed_version(client, model, spec, splits, experiment.experiment_id)
        versions[spec.key] = version
        created.append(version)
        log(
            f"  {model.name}: version {version} ({spec.key}, by {spec.user}) "
            f"in {time.monotonic() - started:.1f} s"
        )
    aliases = {}
    if created:
        # Only when this run made versions: never move an alias a user moved since.
        for alias, key in model.aliases.items():
            client.set_registered_model_alias(model.name, alias, versions[key])
            aliases[alias] = versions[key]
        if aliases:
            log(f"  {model.name}: aliases {aliases}")
    return {
        "created": created,
        "existing": sorted(existing.values(), key=int),
        "aliases": aliases,
    }
