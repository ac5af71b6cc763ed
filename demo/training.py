"""Training the demo models on scikit-learn's bundled data sets: splits, fitting with a loss history per step,
and final test metrics. scikit-learn is the `demo` extra's dependency, imported only when training."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from demo.catalog import VersionSpec

SEED = 42
HISTORY_STEPS = 30


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
