"""Production settings and the docker-compose deployment.

Settings are read once per process, so production configurations are checked in a subprocess
(`manage.py check --deploy`) with a production environment. Docker cannot run here: the compose file
and Dockerfiles are checked statically against the project (every command, module and environment
variable they use must exist).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from tests.support.deploy import production_env, run

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres_pass_only  # subprocesses on their own SQLite files, whatever the test DB
APP_SERVICES = ("web", "worker", "beat", "register-webhook")


# --- settings ----------------------------------------------------------------------------------------
def test_production_settings_pass_check_deploy_without_warnings(tmp_path):
    env = production_env(tmp_path)
    assert len(env["SECRET_KEY"]) == 64

    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in result.stdout, output
    assert "WARNING" not in output


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"SECRET_KEY": None}, "SECRET_KEY", id="default-secret-key"),
        pytest.param({"SECRET_KEY": "x" * 49}, "SECRET_KEY", id="short-secret-key"),
        pytest.param({"MLFLOW_WEBHOOK_SECRET": None}, "MLFLOW_WEBHOOK_SECRET", id="default-webhook-secret"),
        pytest.param(
            {"MLFLOW_WEBHOOK_SECRET": "local-webhook-secret-change-me"},
            "MLFLOW_WEBHOOK_SECRET",
            id="webhook-secret-set-to-the-default",
        ),
        pytest.param({"AUDIT_CHAIN_KEY": None}, "AUDIT_CHAIN_KEY", id="no-audit-chain-key"),
        pytest.param({"OUTBOUND_SECRETS_KEY": None}, "OUTBOUND_SECRETS_KEY", id="no-outbound-secrets-key"),
        pytest.param(
            {"OUTBOUND_SECRETS_KEY": "k" * 31}, "OUTBOUND_SECRETS_KEY", id="short-outbound-secrets-key"
        ),
        pytest.param({"MLFLOW_WEBHOOK_SECRET": "s" * 31}, "MLFLOW_WEBHOOK_SECRET", id="short-webhook-secret"),
        pytest.param({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS", id="any-host"),
        pytest.param({"ALLOWED_HOSTS": "example.com,*"}, "ALLOWED_HOSTS", id="any-host-among-others"),
    ],
)
def test_production_refuses_to_start_with_insecure_secrets(tmp_path, overrides, message):
    result = run(["manage.py", "check"], production_env(tmp_path, **overrides))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_wsgi_application_refuses_to_load_with_the_default_secret_key(tmp_path):
    # What gunicorn imports: the refusal must happen there too, not only in manage.py.
    result = run(["-c", "import registry_ui.wsgi"], production_env(tmp_path, SECRET_KEY=None))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


# --- docker-compose.yml --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())  # also resolves the `<<:` merges


def _command(service: dict) -> list[str]:
    command = service["command"]
    return command.split() if isinstance(command, str) else list(command)


def test_compose_runs_the_whole_stack_with_healthchecks(compose):
    services = compose["services"]
    assert {"web", "worker", "beat", "redis", "postgres", "mlflow", "register-webhook"} <= set(services)
    for name in ("web", "worker", "beat", "redis", "postgres", "mlflow"):
        assert "test" in services[name]["healthcheck"], name
    assert services["redis"]["image"] == "redis:7"
    assert services["postgres"]["image"] == "postgres:16"
    assert "noeviction" in _command(services["redis"])
    assert services["web"]["environment"]["MIGRATE_ON_START"] == "true"
    for name in ("worker", "beat", "register-webhook"):
        assert "MIGRATE_ON_START" not in services[name]["environment"], name


def test_compose_app_environment_is_read_by_the_project(compose):
    readers = "\n".join(
        (REPO / path).read_text()
        for path in (
            "registry_ui/settings.py",
            "registry_ui/settings_events.py",
            "mirror/gateway.py",
            "docker/prestart.py",
        )
    )
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert environment["DEBUG"] == "false"
        assert environment["MLFLOW_TRACKING_URI"].endswith("http://mlflow:5000}")
        for variable in environment:
            assert f'"{variable}"' in readers, f"{name}: {variable} is not read by the project"


def test_compose_commands_exist_in_the_project(compose):
    from django.core.management import get_commands
    from django.utils.module_loading import import_string

    services = compose["services"]
    web = _command(services["web"])
    assert web[0] == "gunicorn"
    module, _, attribute = web[1].partition(":")
    assert attribute == "application"
    assert callable(import_string(f"{module}.{attribute}"))

    for name in ("worker", "beat"):
        command = _command(services[name])
        assert command[:2] == ["celery", "--app=registry_ui"], name
    beat = _command(services["beat"])
    scheduler = next(arg.split("=", 1)[1] for arg in beat if arg.startswith("--scheduler="))
    assert scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
    import_string(scheduler.replace(":", "."))

    register = _command(services["register-webhook"])
    assert register[:3] == ["python", "manage.py", "register_webhook"]
    assert "register_webhook" in get_commands()
    assert any(arg.startswith("--url=") and "/webhooks/mlflow/" in arg for arg in register)


def test_compose_mlflow_server_accepts_webhooks_to_the_app(compose):
    mlflow = compose["services"]["mlflow"]
    environment = mlflow["environment"]
    assert environment["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert environment["MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS"] == "true"
    assert environment["MLFLOW_WEBHOOK_ALLOWED_SCHEMES"] == "http,https"
    assert "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY" in environment
    assert environment["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql://")
    command = _command(mlflow)
    assert "--serve-artifacts" in command
    allowed = next(arg.split("=", 1)[1] for arg in command if arg.startswith("--allowed-hosts="))
    assert "mlflow:5000" in allowed.split(",")
    assert any(volume.endswith(":/mlflow/artifacts") for volume in mlflow["volumes"])

    dockerfile = (REPO / "docker/mlflow/Dockerfile").read_text()
    assert 'MLFLOW_SPEC="mlflow>=3.4,<4"' in dockerfile


def test_compose_files_and_scripts_exist(compose):
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), volume
        build = service.get("build")
        if build:
            assert (REPO / build / "Dockerfile").is_file(), build
    assert os.access(REPO / "docker/entrypoint.sh", os.X_OK)
    assert (REPO / "docker/healthcheck.py").is_file()


def test_app_image_builds_from_pyproject_and_runs_unprivileged():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert "RUN pip install .\n" in dockerfile
    assert "manage.py collectstatic --noinput" in dockerfile
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}
    assert 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in dockerfile

    ignored = {line.strip().rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()}
    needed = {
        "pyproject.toml",
        "manage.py",
        "policies.yaml",
        "registry_ui",
        "common",
        "mirror",
        "cards",
        "compare",
        "approvals",
        "audit",
        "lineage",
        "demo",
        "templates",
        "static",
        "docker",
    }
    needed |= {"docker/entrypoint.sh", "docker/prestart.py", "docker/healthcheck.py"}
    assert not ignored & needed
