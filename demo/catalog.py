"""The demo's catalogue: which models and versions `seed_demo` writes to MLflow, and the README's "Try it"
story's model and versions (pure data: no scikit-learn, no mlflow)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
