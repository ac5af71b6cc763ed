"""Fixtures of the packaging tests: a mirrored sklearn version, API clients per role, MLflow's artifact side
faked in memory (download, upload, open), a converter injected in place of packager.formats.build, and task
sends recorded instead of sent."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from mirror import gateway
from mirror.models import ModelVersion
from tests.factories import ModelVersionFactory


@pytest.fixture
def mv(db) -> ModelVersion:
    version = ModelVersionFactory(
        model__name="churn",
        version=1,
        flavors=["python_function", "sklearn"],
        artifacts_read_at=timezone.now(),
    )
    return ModelVersion.objects.select_related("model", "source_run").get(pk=version.pk)


@pytest.fixture
def client_as(make_user):
    def make(username: str, *groups: str, staff: bool = False) -> APIClient:
        client = APIClient()
        client.force_authenticate(make_user(username, *groups, staff=staff))
        return client

    return make


@pytest.fixture
def engineer(client_as):
    return client_as("eve", "ml-engineers")


@pytest.fixture
def sent(monkeypatch):
    """Tasks the code sends (by name, through common.queue), recorded: [(task name, args)] — at once, as if
    the test's transaction had committed (common.queue sends after the commit)."""
    from celery import current_app

    from common import queue

    monkeypatch.setattr(queue, "send_on_commit", queue.send)
    calls = []
    for name in ("packager.tasks.run_package_job", "registry_ui.tasks.apply_mlflow_write_task"):
        task = current_app.tasks[name]
        monkeypatch.setattr(task, "delay", lambda *a, _n=name, **k: calls.append((_n, a)))
    return calls


class FakeArtifacts:
    """MLflow's artifact side: a version's model directory to download, the runs' logged files."""

    def __init__(self):
        self.model_files = {"MLmodel": b"flavors: {sklearn: {}}\n", "model.pkl": b"\x80\x04pickle"}
        self.logged: dict[str, bytes] = {}
        self.fail_download: Exception | None = None

    def download_model_dir(self, name, version, dst: Path, *, max_bytes: int) -> Path:
        if self.fail_download is not None:
            raise self.fail_download
        dst.mkdir(parents=True, exist_ok=True)
        for rel, data in self.model_files.items():
            (dst / rel).write_bytes(data)
        return dst

    def log_run_artifact(self, run_id: str, local_file: Path, artifact_path: str) -> str:
        uri = f"runs:/{run_id}/{artifact_path}/{local_file.name}"
        self.logged[uri] = local_file.read_bytes()
        return uri

    def open_artifact(self, uri: str):
        data = self.logged[uri]
        return io.BytesIO(data), len(data)


@pytest.fixture
def artifacts(monkeypatch) -> FakeArtifacts:
    fake = FakeArtifacts()
    for fn in ("download_model_dir", "log_run_artifact", "open_artifact"):
        monkeypatch.setattr(gateway, fn, getattr(fake, fn))
    return fake


def fake_build(fmt, model_dir: Path, out_dir: Path, *, tolerance: float, on_step):
    """A converter in place of packager.formats.build: walks the steps and writes a small package."""
    for step in ("loading", "converting", "validating"):
        on_step(step)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.onnx"
    path.write_bytes(b"onnx-bytes:" + (model_dir / "model.pkl").read_bytes())
    parity = SimpleNamespace(
        as_dict=lambda: {"rows": 5, "max_abs_diff": 1e-7, "passed": True, "tolerance": tolerance}
    )
    return SimpleNamespace(path=path, opset=17, io={"inputs": [], "outputs": []}, parity=parity)
