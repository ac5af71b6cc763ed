"""Management commands of the mirror against a real MLflow server."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mirror import services
from mirror.models import ModelVersion

pytestmark = [pytest.mark.mlflow, pytest.mark.django_db]


@pytest.fixture(scope="module")
def demo_model(mlflow_server):
    """One small real model (logged with a signature and input example) in the shared server."""
    import uuid

    import mlflow
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    name = f"cmd-iris-{uuid.uuid4().hex[:6]}"
    mlflow.set_tracking_uri(mlflow_server.uri)
    x, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=200).fit(x, y)
    mlflow.set_experiment(name)
    with mlflow.start_run():
        mlflow.log_metric("acc", float(model.score(x, y)))
        mlflow.sklearn.log_model(
            model,
            name="model",
            signature=mlflow.models.infer_signature(x, model.predict(x)),
            input_example=x.head(3),
            registered_model_name=name,
            pip_requirements=["scikit-learn"],
        )
    return name


def test_sync_registry_prints_progress_and_counts(mlflow_uri, demo_model):
    out, err = io.StringIO(), io.StringIO()
    call_command("sync_registry", stdout=out, stderr=err)
    assert "succeeded" in out.getvalue()
    assert ModelVersion.objects.live().filter(model__name=demo_model).exists()


def test_sync_registry_fails_clearly_when_mlflow_is_down(settings):
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"
    with pytest.raises(CommandError, match="unreachable"):
        call_command("sync_registry", "--quiet-progress", stdout=io.StringIO())


def test_version_artifacts_give_a_stable_content_hash_and_the_signature(mlflow_uri, demo_model):
    call_command("sync_registry", "--quiet-progress", stdout=io.StringIO())
    mv = ModelVersion.objects.get(model__name=demo_model, version=1)
    services.read_version_artifacts(model_version_id=mv.pk)
    mv.refresh_from_db()
    assert mv.content_hash.startswith("sha256:") and len(mv.content_hash) == 71
    assert [c["name"] for c in mv.signature["inputs"]][:2] == ["sepal length (cm)", "sepal width (cm)"]
    assert "sklearn" in mv.flavors and mv.input_example is not None
    first = mv.content_hash
    ModelVersion.objects.filter(pk=mv.pk).update(artifacts_read_at=None, content_hash=None)
    services.read_version_artifacts(model_version_id=mv.pk)
    mv.refresh_from_db()
    assert mv.content_hash == first


def test_register_webhook_creates_then_updates_without_duplicates(mlflow_uri, mlflow_client):
    url = "http://127.0.0.1:65000/webhooks/mlflow/"
    out = io.StringIO()
    call_command("register_webhook", "--url", url, "--name", "cmd-test-hook", stdout=out)
    assert "Registered" in out.getvalue()
    out = io.StringIO()
    call_command("register_webhook", "--url", url, "--name", "cmd-test-hook", stdout=out)
    assert "Updated" in out.getvalue()
    hooks = [h for h in mlflow_client.list_webhooks() if h.name == "cmd-test-hook"]
    assert len(hooks) == 1
    assert {str(e) for e in hooks[0].events} >= {"model_version.created", "model_version_alias.created"}
    assert len(hooks[0].events) == 6
    mlflow_client.delete_webhook(hooks[0].webhook_id)


def test_issue_token_prints_a_new_key_alone_on_the_last_line_each_time(make_user, client):
    make_user("ci-bot")
    out = io.StringIO()
    call_command("issue_token", "ci-bot", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    assert key.startswith("rgt_") and len(key) == 68
    again = io.StringIO()
    call_command("issue_token", "ci-bot", "--name", "nightly", stdout=again)
    assert again.getvalue().strip().splitlines()[-1] != key  # only hashes are stored: a key is shown once
    assert client.get("/api/v1/models/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_issue_token_for_unknown_user_fails():
    with pytest.raises(CommandError):
        call_command("issue_token", "nobody", stdout=io.StringIO())


def test_version_artifacts_are_read_from_the_configured_server_whatever_the_process_environment(
    mlflow_uri, demo_model, monkeypatch
):
    """The gateway names MLflow explicitly: a worker whose environment or MLflow globals point elsewhere
    (no MLFLOW_TRACKING_URI, a default local store) still reads the configured server's artifacts."""
    import mlflow

    call_command("sync_registry", "--quiet-progress", stdout=io.StringIO())
    mv = ModelVersion.objects.get(model__name=demo_model, version=1)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri("sqlite:////nonexistent-dir/elsewhere.db")
    try:
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        services.read_version_artifacts(model_version_id=mv.pk)
    finally:
        mlflow.set_tracking_uri(previous)
    mv.refresh_from_db()
    assert mv.content_hash and mv.content_hash.startswith("sha256:")
