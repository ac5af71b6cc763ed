"""The original model and its input rows, read from a downloaded MLflow model directory with MLflow's own
flavor loaders.

This is the one module outside mirror/gateway.py allowed to import mlflow (pyproject's per-file-ignores):
it runs only inside the sandboxed packaging child (packager.formats.child), reads a local directory and
never talks to the MLflow server. Keeping it out of the gateway keeps the gateway's settings, credentials
and HTTP client out of the process that unpickles untrusted models, and keeps the gateway small.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from packager.formats.results import PackagingFailed

SYNTHETIC_ROWS = 16


def load_model(flavor: str, model_dir: Path) -> Any:
    """The flavor's native model object (an sklearn estimator, a torch.nn.Module, a Keras model, ...)."""
    # Each flavor module imports its ML library: only the one this model needs is imported.
    if flavor == "sklearn":
        import mlflow.sklearn as loader
    elif flavor == "pytorch":
        import mlflow.pytorch as loader
    elif flavor == "onnx":
        import mlflow.onnx as loader
    elif flavor == "keras":
        import mlflow.keras as loader
    elif flavor == "tensorflow":
        import mlflow.tensorflow as loader
    elif flavor == "xgboost":
        import mlflow.xgboost as loader
    elif flavor == "lightgbm":
        import mlflow.lightgbm as loader
    else:
        raise PackagingFailed(f"This server has no loader for {flavor} models.")
    try:
        return loader.load_model(str(model_dir))
    except MemoryError:
        raise
    except Exception as exc:
        raise PackagingFailed(
            f"The {flavor} model's files could not be loaded: the artifact is corrupt, incomplete or was "
            f"saved by an incompatible library version ({type(exc).__name__}: {_short(exc)})."
        ) from exc


def input_rows(model_dir: Path) -> Any:
    """The version's input example, or rows synthesised from its signature; PackagingFailed when it has neither."""
    from mlflow.models import Model  # mlflow is imported only in the child, and only once a model is read

    try:
        meta = Model.load(str(model_dir))
    except Exception as exc:
        raise PackagingFailed(
            f"The model directory has no readable MLmodel file ({type(exc).__name__}: {_short(exc)})."
        ) from exc
    try:
        example = meta.load_input_example(str(model_dir))
    except Exception as exc:
        raise PackagingFailed(f"The version's input example could not be read ({_short(exc)}).") from exc
    if example is not None and not isinstance(example, str):
        return example
    schema = meta.get_input_schema()
    if schema is None:
        raise PackagingFailed(
            "The version has neither an input example nor a signature, so its inputs are unknown and parity "
            "cannot be checked: log the model with input_example=... or a signature."
        )
    return synthesise(schema)


def synthesise(schema: Any) -> Any:
    """A few seeded random rows shaped like the signature's inputs (a DataFrame for columns, an array for a
    tensor)."""
    rng = np.random.default_rng(0)
    if schema.is_tensor_spec():
        spec = schema.inputs[0]
        shape = [SYNTHETIC_ROWS if dim == -1 else dim for dim in spec.shape]
        return _random(rng, np.dtype(spec.type), shape)
    import pandas as pd  # a column signature means a DataFrame; pandas comes with mlflow

    columns = {}
    for index, col in enumerate(schema.inputs):
        name = col.name if col.name is not None else index
        if col.type.name == "string":
            raise PackagingFailed(
                f"Input column '{name}' is a string and the version has no input example to take values "
                "from: log the model with input_example=..."
            )
        columns[name] = _random(rng, col.type.to_numpy(), [SYNTHETIC_ROWS])
    return pd.DataFrame(columns)


def _random(rng: np.random.Generator, dtype: np.dtype, shape: list[int]) -> np.ndarray:
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(0, 10, size=shape).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
