"""Small real models saved as MLflow model directories (mlflow.<flavor>.save_model into a folder: no server),
for the packaging tests and benchmark."""

from __future__ import annotations

import pickle
from pathlib import Path

import mlflow.sklearn
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def iris():
    features, labels = load_iris(return_X_y=True, as_frame=True)
    return features, labels


def save_sklearn(model, features, where: Path, **kwargs) -> Path:
    """Fit on the features and save with the first 20 rows as input example; the model directory."""
    # Requirements named, not inferred: inferring them starts a process that imports the model (seconds).
    kwargs.setdefault("pip_requirements", ["scikit-learn"])
    # cloudpickle, as most registries hold them (skops, MLflow's default, imports all of scikit-learn: seconds).
    kwargs.setdefault("serialization_format", mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE)
    mlflow.sklearn.save_model(model, str(where), input_example=features.head(20), **kwargs)
    return where


def logistic_regression(where: Path, **kwargs) -> Path:
    features, labels = iris()
    return save_sklearn(LogisticRegression(max_iter=500).fit(features, labels), features, where, **kwargs)


def random_forest(where: Path, trees: int = 20) -> Path:
    features, labels = load_breast_cancer(return_X_y=True, as_frame=True)
    model = RandomForestClassifier(n_estimators=trees, max_depth=6, random_state=0).fit(features, labels)
    return save_sklearn(model, features, where)


def scaler_pipeline(where: Path) -> Path:
    features, labels = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(features, labels)
    return save_sklearn(model, features, where)


class Hostile:
    """Runs `code` when unpickled: what a model pickle from anyone with MLflow write access can do."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


def hostile_sklearn(where: Path, code: str) -> Path:
    """A sklearn model directory (cloudpickle format) whose model file runs `code` when loaded."""
    logistic_regression(where)
    (where / "model.pkl").write_bytes(pickle.dumps(Hostile(code)))
    return where


def torch_mlp(where: Path, model=None, serialization_format: str = "pt2") -> Path:
    """A small PyTorch MLP (4 -> 16 -> 3) with an iris input example, saved by mlflow.pytorch (MLflow's default
    "pt2" format: a torch.export program; "pickle": the module itself)."""
    import mlflow.pytorch  # the [torch] extra: only the tests that need it import torch
    import torch

    torch.manual_seed(0)
    model = model or torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    example = iris()[0].to_numpy("float32")[:20]
    mlflow.pytorch.save_model(
        model,
        str(where),
        input_example=example,
        pip_requirements=["torch"],
        serialization_format=serialization_format,
    )
    return where


def branchy_torch(where: Path) -> Path:
    """A module whose forward branches on its data: torch.export (the default ONNX exporter) refuses it, the
    TorchScript-based exporter traces it. Saved as a pickle (the pt2 format would need torch.export too)."""
    import torch  # the [torch] extra

    class Branchy(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 3)

        def forward(self, x):
            hidden = self.linear(x)
            if hidden.sum() > 0:
                return hidden
            return -hidden

    return torch_mlp(where, Branchy(), serialization_format="pickle")


def boosted(where: Path, library: str) -> Path:
    """A small XGBoost or LightGBM classifier (scikit-learn API) on breast-cancer data, saved by its flavor."""
    features, labels = load_breast_cancer(return_X_y=True, as_frame=True)
    if library == "xgboost":
        import mlflow.xgboost  # the [boosting] extra: only the tests that need it import it
        import xgboost

        model = xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(features, labels)
        mlflow.xgboost.save_model(
            model, str(where), input_example=features.head(20), pip_requirements=["xgboost"]
        )
    else:
        import lightgbm
        import mlflow.lightgbm

        model = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1).fit(features, labels)
        mlflow.lightgbm.save_model(
            model, str(where), input_example=features.head(20), pip_requirements=["lightgbm"]
        )
    return where


def keras_mlp(where: Path) -> Path:
    """A small Keras MLP (4 -> 8 -> 3) with an iris input example, saved by mlflow.tensorflow."""
    import keras  # the [tensorflow] extra: only the tests that need it import TensorFlow
    import mlflow.tensorflow

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)]
    )
    example = iris()[0].to_numpy("float32")[:20]
    mlflow.tensorflow.save_model(
        model, str(where), input_example=example, pip_requirements=["tensorflow-cpu"]
    )
    return where
