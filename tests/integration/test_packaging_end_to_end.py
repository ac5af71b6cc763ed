"""A real scikit-learn model logged to a real MLflow server, packaged as ONNX by the job runner: downloaded
through the gateway, converted and parity-checked by packager.formats, logged back beside the model."""

from __future__ import annotations

import hashlib

import mlflow
import numpy as np
import pytest
from django.utils import timezone
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from mirror.models import ModelVersion
from packager import runner, services
from packager.models import PackageJob
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.mlflow


@pytest.fixture
def iris_version(db, own_mlflow):
    X, y = load_iris(return_X_y=True, as_frame=True)
    mlflow.set_tracking_uri(own_mlflow.uri)
    # An experiment of this server: the process may still have another server's experiment active.
    mlflow.set_experiment("packaging-end-to-end")
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(
            LogisticRegression(max_iter=300).fit(X, y), name="model", input_example=X.head(5),
            registered_model_name="iris",
        )  # fmt: skip
    mv = ModelVersionFactory(
        model__name="iris", version=1, source_run__run_id=run.info.run_id, flavors=["python_function", "sklearn"],
        artifacts_read_at=timezone.now(),
    )  # fmt: skip
    return ModelVersion.objects.select_related("model").get(pk=mv.pk)


def test_a_logistic_regression_is_packaged_as_onnx_with_parity_and_logged_beside_the_model(
    iris_version, own_mlflow, make_user, settings, tmp_path
):
    job, _ = services.request_package(user=make_user("eve", "ml-engineers"), mv=iris_version, fmt="onnx")
    assert runner.run_job(job.pk) == "succeeded", PackageJob.objects.get(pk=job.pk).error
    job.refresh_from_db()
    assert job.parity["passed"] and job.parity["rows"] >= 1 and job.parity["max_abs_diff"] <= 1e-4
    assert job.opset and job.io["inputs"] and job.io["outputs"]
    assert job.artifact_uri.startswith(f"runs:/{iris_version.run_id}/packages/onnx/")
    client = MlflowClient(tracking_uri=own_mlflow.uri)
    local = client.download_artifacts(
        iris_version.run_id, job.artifact_uri.split(f"{iris_version.run_id}/", 1)[1], str(tmp_path)
    )
    data = open(local, "rb").read()
    assert (hashlib.sha256(data).hexdigest(), len(data)) == (job.sha256, job.size_bytes)
    assert np.isfinite(job.parity["max_abs_diff"])
