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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

SEED = 42
REPO_URL = "https://github.com/example-bank/ml-models"
DATA_DOCS = "https://scikit-learn.org/stable/datasets/toy_dataset.html"
HISTORY_STEPS = 30
TREE_TYPES = ["sklearn.tree._tree.Tree"]


@dataclass(frozen=True)
class VersionSpec:
    key: str  # stable identity of the demo version, stored as the version tag demo.key
    estimator: str
    params: dict[str, Any]
    user: str
    description: str
    data_validated: bool


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str  # binary | multiclass | regression
    dataset: str  # name of the sklearn loader
    description: str
    primary_metric: str
    primary_metric_goal: str
    source_name: str
    versions: list[VersionSpec]
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> VersionSpec.key


DEMO_MODELS: list[ModelSpec] = [
    ModelSpec(
        name="credit-default-classifier",
        task="binary",
        dataset="load_breast_cancer",
        description=(
            "Binary classifier that flags likely defaults. Demo stand-in trained on scikit-learn's "
            "breast cancer data set (569 rows, 30 numeric features)."
        ),
        primary_metric="test_f1",
        primary_metric_goal="maximize",
        source_name="training/credit_default/train.py",
        versions=[
            VersionSpec(
                "credit-logreg-c0.01",
                "logistic_regression",
                {"C": 0.01},
                "alice",
                "Baseline: strongly regularised logistic regression.",
                True,
            ),
            VersionSpec(
                "credit-logreg-c1",
                "logistic_regression",
                {"C": 1.0},
                "bob",
                "Logistic regression with weaker regularisation (C=1).",
                True,
            ),
            VersionSpec(
                "credit-gbm-40x2",
                "gradient_boosting",
                {"n_estimators": 40, "max_depth": 2, "learning_rate": 0.1},
                "alice",
                "Gradient boosting, 40 shallow trees.",
                False,
            ),
        ],
        # The README's "Try it" story: the baseline holds production and bob's C=1 model (version 2) beats it
        # on test_f1 (0.986 against 0.966), carries data_validated=true and, once `seed_demo_cards` has run,
        # a card with every section written but one — so a newcomer can promote it to production.
        aliases={"production": "credit-logreg-c0.01", "staging": "credit-gbm-40x2"},
    ),
    ModelSpec(
        name="diabetes-progression-regressor",
        task="regression",
        dataset="load_diabetes",
        description=(
            "Regressor predicting disease progression one year after baseline, from scikit-learn's "
            "diabetes data set (442 rows, 10 features)."
        ),
        primary_metric="rmse",
        primary_metric_goal="minimize",
        source_name="training/diabetes/train.py",
        versions=[
            VersionSpec(
                "diabetes-gbr-30x2",
                "gradient_boosting",
                {"n_estimators": 30, "max_depth": 2, "learning_rate": 0.1},
                "alice",
                "Gradient boosting regressor, 30 depth-2 trees.",
                False,
            ),
            VersionSpec(
                "diabetes-rf-30",
                "random_forest",
                {"n_estimators": 30, "max_depth": 6, "min_samples_leaf": 3},
                "alice",
                "Random forest, 30 trees of depth at most 6.",
                True,
            ),
            VersionSpec(
                "diabetes-gbr-50x3",
                "gradient_boosting",
                {"n_estimators": 50, "max_depth": 3, "learning_rate": 0.05},
                "bob",
                "Gradient boosting regressor, 50 depth-3 trees at a lower learning rate.",
                False,
            ),
        ],
        aliases={"staging": "diabetes-gbr-50x3"},
    ),
    ModelSpec(
        name="wine-cultivar-classifier",
        task="multiclass",
        dataset="load_wine",
        description=(
            "Three-class classifier of wine cultivars from chemical analysis "
            "(scikit-learn's wine data set, 178 rows, 13 features)."
        ),
        primary_metric="test_accuracy",
        primary_metric_goal="maximize",
        source_name="training/wine/train.py",
        versions=[
            VersionSpec(
                "wine-logreg-c0.05",
                "logistic_regression",
                {"C": 0.05},
                "alice",
                "Multinomial logistic regression, C=0.05.",
                True,
            ),
            VersionSpec(
                "wine-rf-25",
                "random_forest",
                {"n_estimators": 25, "max_depth": 4, "min_samples_leaf": 1},
                "alice",
                "Random forest, 25 trees of depth at most 4.",
                False,
            ),
            VersionSpec(
                "wine-gbm-30x2",
                "gradient_boosting",
                {"n_estimators": 30, "max_depth": 2, "learning_rate": 0.1},
                "bob",
                "Gradient boosting, 30 depth-2 trees.",
                True,
            ),
        ],
        aliases={"production": "wine-logreg-c0.05"},
    ),
]


# The README's "Try it" story promotes this version (by its demo.key) of this model to production.
TRY_IT_MODEL = "credit-default-classifier"
TRY_IT_CANDIDATE = "credit-logreg-c1"
TRY_IT_HOLDER = "credit-logreg-c0.01"


def fake_commit(*parts: str) -> str:
    """A plausible, deterministic 40-hex git sha for demo code tags."""
    return hashlib.sha1(":".join(("demo", *parts)).encode()).hexdigest()


@dataclass
class Splits:
    frame: pd.DataFrame  # the whole data set, features plus "target"
    X_train: pd.DataFrame
    X_val: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_val: pd.Series
    y_test: pd.Series


def load_splits(loader_name: str, task: str) -> Splits:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    bunch = getattr(datasets, loader_name)(as_frame=True)
    frame = bunch.frame.rename(columns={bunch.target.name: "target"})
    X = frame.drop(columns="target")
    y = frame["target"]
    stratify = y if task != "regression" else None
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, random_state=SEED, stratify=stratify
    )
    stratify = y_rest if task != "regression" else None
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.25, random_state=SEED, stratify=stratify
    )
    return Splits(frame, X_train, X_val, X_test, y_train, y_val, y_test)


def _loss(task: str, y_true: pd.Series, prediction: np.ndarray, labels: np.ndarray | None) -> float:
    from sklearn.metrics import log_loss, mean_squared_error

    if task == "regression":
        return float(mean_squared_error(y_true, prediction))
    return float(log_loss(y_true, prediction, labels=labels))


def train_with_history(spec: VersionSpec, task: str, s: Splits) -> tuple[Any, list[tuple[int, float, float]]]:
    """Fit the estimator, recording (step, train_loss, val_loss) as training goes.

    Logistic regression: one lbfgs iteration per step (warm start). Boosting: one stage per step.
    Random forest: one more tree per step (warm start). Losses are log loss, or MSE for regression.
    """
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    classify = task != "regression"
    labels = np.unique(s.y_train) if classify else None
    history: list[tuple[int, float, float]] = []

    def record(step: int, train_pred: np.ndarray, val_pred: np.ndarray) -> None:
        history.append(
            (step, _loss(task, s.y_train, train_pred, labels), _loss(task, s.y_val, val_pred, labels))
        )

    if spec.estimator == "logistic_regression":
        scaler = StandardScaler().fit(s.X_train)
        X_train, X_val = scaler.transform(s.X_train), scaler.transform(s.X_val)
        clf = LogisticRegression(C=spec.params["C"], max_iter=1, warm_start=True)
        for step in range(1, HISTORY_STEPS + 1):
            clf.fit(X_train, s.y_train)
            record(step, clf.predict_proba(X_train), clf.predict_proba(X_val))
        clf.set_params(max_iter=step)  # what the finished model amounts to
        return Pipeline([("scale", scaler), ("clf", clf)]), history

    if spec.estimator == "gradient_boosting":
        cls = GradientBoostingClassifier if classify else GradientBoostingRegressor
        model = cls(random_state=SEED, **spec.params).fit(s.X_train, s.y_train)
        if classify:
            stages = zip(
                model.staged_predict_proba(s.X_train), model.staged_predict_proba(s.X_val), strict=True
            )
        else:
            stages = zip(model.staged_predict(s.X_train), model.staged_predict(s.X_val), strict=True)
        for step, (train_pred, val_pred) in enumerate(stages, start=1):
            record(step, train_pred, val_pred)
        return model, history

    if spec.estimator == "random_forest":
        cls = RandomForestClassifier if classify else RandomForestRegressor
        params = dict(spec.params)
        n_estimators = params.pop("n_estimators")
        model = cls(random_state=SEED, warm_start=True, n_estimators=0, **params)
        for step in range(1, n_estimators + 1):
            model.set_params(n_estimators=step)
            model.fit(s.X_train, s.y_train)
            if classify:
                record(step, model.predict_proba(s.X_train), model.predict_proba(s.X_val))
            else:
                record(step, model.predict(s.X_train), model.predict(s.X_val))
        return model, history

    raise ValueError(f"unknown estimator {spec.estimator!r}")


def test_metrics(task: str, model: Any, s: Splits) -> dict[str, float]:
    from sklearn import metrics

    if task == "regression":
        pred = model.predict(s.X_test)
        return {
            "rmse": float(np.sqrt(metrics.mean_squared_error(s.y_test, pred))),
            "mae": float(metrics.mean_absolute_error(s.y_test, pred)),
            "r2": float(metrics.r2_score(s.y_test, pred)),
        }
    pred = model.predict(s.X_test)
    proba = model.predict_proba(s.X_test)
    if task == "binary":
        return {
            "test_f1": float(metrics.f1_score(s.y_test, pred)),
            "test_accuracy": float(metrics.accuracy_score(s.y_test, pred)),
            "test_roc_auc": float(metrics.roc_auc_score(s.y_test, proba[:, 1])),
            "test_precision": float(metrics.precision_score(s.y_test, pred)),
            "test_recall": float(metrics.recall_score(s.y_test, pred)),
        }
    return {
        "test_accuracy": float(metrics.accuracy_score(s.y_test, pred)),
        "test_f1_macro": float(metrics.f1_score(s.y_test, pred, average="macro")),
        "test_log_loss": float(metrics.log_loss(s.y_test, proba, labels=model.classes_)),
    }


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
            dataset = mlflow.data.from_pandas(frame, source=source, name=name, targets="target")
            mlflow.log_input(dataset, context=context)

        now = int(time.time() * 1000)
        metrics = [
            Metric(key, value, now - (len(history) - step) * 1000, step)
            for step, train_loss, val_loss in history
            for key, value in (("train_loss", train_loss), ("val_loss", val_loss))
        ]
        metrics += [Metric(key, value, now, 0) for key, value in final.items()]
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
