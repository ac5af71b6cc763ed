"""Fixtures of the model card tests: a mirrored model with two versions (the first in production, with its run's
source, data set and metrics), and an API client for an ML engineer."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from mirror.models import ModelVersion
from mirror.sync import apply_snapshot
from tests import factories as f


@pytest.fixture
def mirror():
    runs = {
        "run1": f.mlflow_run(
            "run1",
            metrics={"f1": 0.8, "auc": 0.9},
            params={"C": "1.0"},
            tags={"mlflow.user": "alice", "mlflow.source.name": "train.py", "mlflow.source.git.commit": "abc123",
                  "data.rows": "1000"},
            datasets=[{"name": "customers", "digest": "d1g3st", "source_type": "local", "source": "/data/c.csv",
                       "context": "training", "schema": "", "profile": '{"num_rows": 1000}'}],
        ),
        "run2": f.mlflow_run("run2", metrics={"f1": 0.85}),
    }  # fmt: skip
    apply_snapshot(
        f.snapshot(
            [f.mlflow_model("churn", aliases={"production": "1"})],
            [
                f.mlflow_version("churn", 1, run_id="run1", aliases=["production"]),
                f.mlflow_version("churn", 2, run_id="run2"),
            ],
            runs=runs,
        )  # fmt: skip
    )
    return {v.version: v for v in ModelVersion.objects.select_related("model", "source_run")}


@pytest.fixture
def editor(make_user):
    client = APIClient()
    client.force_authenticate(make_user("eve", "ml-engineers"))
    return client
