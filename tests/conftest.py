"""Fixtures all areas share: users per role, the test policy and people of the promotion workflow, MLflow faked in
memory, a real `mlflow server` process, a real Celery worker, Chromium."""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connections
from django.db.backends.signals import connection_created

from demo.mlflow_process import MlflowServer
from mirror import gateway
from tests.support.audit_flush import allow_test_flush
from tests.support.browser import launch_chromium
from tests.support.governance import TEST_POLICY, FakeGateway, seed_model

# Django's flush between transactional tests may empty the append-only audit table of a test database.
connection_created.connect(allow_test_flush, dispatch_uid="audit_allow_test_flush")

REPO = Path(__file__).resolve().parent.parent
_MEDIA_ROOTS = itertools.count(1)
_FAULT_ROWS: list[tuple] = []  # (scenario, operations, lost, duplicated), from tests/faults/


@pytest.fixture(autouse=True)
def audit_checkpoint_dir(settings, tmp_path_factory):
    """Each test has its own audit checkpoint store: it lives outside the database, which tests reset."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path_factory.mktemp("audit-checkpoints")
    return settings.AUDIT_CHECKPOINT_DIR


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path_factory):
    """Each test has its own MEDIA_ROOT: job files are named by row id (evidence-<pk>.zip), and the tests of
    another xdist worker (another test database, the same ids) must not write over them in var/media.
    Not created: the code makes the directories it writes to."""
    settings.MEDIA_ROOT = str(tmp_path_factory.getbasetemp() / "media" / f"{next(_MEDIA_ROOTS)}")
    return settings.MEDIA_ROOT


def pytest_runtest_logreport(report):
    """The fault suite's rows arrive with the reports (from xdist's workers too); the table is printed once."""
    if report.when == "teardown":
        from tests.faults.conftest import FAULT_ROW

        _FAULT_ROWS.extend(value for name, value in report.user_properties if name == FAULT_ROW)


def pytest_terminal_summary(terminalreporter):
    if not _FAULT_ROWS:
        return
    from tests.faults.conftest import FaultRow, format_table

    terminalreporter.section("fault suite")
    for line in format_table([FaultRow(*row) for row in _FAULT_ROWS]):
        terminalreporter.write_line(line)


def pytest_runtest_setup(item):
    """postgres_only tests (advisory locks, row locks under real concurrency, TRUNCATE triggers) skip on
    other databases; `make test` deselects them in its SQLite run (-m "not postgres_only")."""
    if item.get_closest_marker("postgres_only"):
        from django.conf import settings

        if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
            pytest.skip("needs PostgreSQL (postgres_only)")


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, *groups: str, staff: bool = False, password: str = "pw-correct-horse"):
        user = django_user_model.objects.create_user(username=username, password=password, is_staff=staff)
        for name in groups:
            user.groups.add(Group.objects.get(name=name))
        return user

    return make


@pytest.fixture
def user(make_user):
    return make_user("reader")


@pytest.fixture
def staff(make_user):
    return make_user("staffer", staff=True)


@pytest.fixture
def client_user(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def api(user):
    from rest_framework.test import APIClient

    api_client = APIClient()
    api_client.force_authenticate(user)
    return api_client


# --- governance: the test policy, people per role, MLflow's registry writes faked in memory ---------------
@pytest.fixture
def use_policy(settings, tmp_path, monkeypatch):
    """use_policy(yaml_text) -> the policies.yaml holding it, the policy in force for the test: in this process
    and in the worker subprocesses started after it (POLICY_PATH in the environment)."""
    from approvals import policy

    def use(text: str):
        path = tmp_path / "policies.yaml"
        path.write_text(text)
        settings.POLICY_PATH = str(path)
        monkeypatch.setenv("POLICY_PATH", str(path))
        policy.clear_cache()
        return path

    yield use
    policy.clear_cache()


@pytest.fixture
def policy_file(use_policy):
    """The test policy, in this process and in the Celery workers started after this fixture."""
    return use_policy(TEST_POLICY)


@pytest.fixture
def churn(policy_file):
    """The model "churn" with versions 1 to 3, v1 holding production, under the test policy."""
    return seed_model("churn", (1, 2, 3), aliases={"production": 1})


@pytest.fixture
def fake_mlflow(monkeypatch):
    fake = FakeGateway()
    for fn in ("get_model", "set_alias", "transition_stage", "get_version_stage"):
        monkeypatch.setattr(gateway, fn, getattr(fake, fn))
    return fake


@pytest.fixture(autouse=True)
def fast_hashes(settings):
    """Every test hashes passwords with MD5: PBKDF2's million iterations cost 0.26 s of CPU per password set or
    checked (users made, logins, signatures), and no test is about the hasher's cost. The Celery workers that
    tests start never check a password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(make_user, fast_hashes):
    """requester (ml-engineers), three approvers, a reviewer, an outsider, staff."""
    return {
        "requester": make_user("rita", "ml-engineers"),
        "a1": make_user("ann", "approvers"),
        "a2": make_user("bob", "approvers"),
        "a3": make_user("cid", "approvers"),
        "reviewer": make_user("rev", "reviewers"),
        "outsider": make_user("otto"),
        "staff": make_user("stan", staff=True),
    }


@pytest.fixture
def eager_tasks(monkeypatch):
    """Celery tasks run in the test's process as they are sent (pages and the CLI against a live server with
    MLflow faked in memory)."""
    from registry_ui.celery import app  # the project's Celery app: loaded only by the tests that run tasks

    # The mirror refresh after an apply would read the (fake, in-memory) MLflow over HTTP: skip it here.
    monkeypatch.setattr("mirror.sync.start_sync", lambda **kwargs: None)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def no_task_sends(monkeypatch):
    """Committed transactions would enqueue real Celery messages; record them instead."""
    from approvals import tasks

    sent = []
    for kind, t in (("gates", tasks.run_gates_task), ("apply", tasks.apply_outbox_task)):
        monkeypatch.setattr(t, "delay", lambda *a, _kind=kind, **k: sent.append((_kind, a)))
        monkeypatch.setattr(t, "apply_async", lambda a, _kind=kind, **k: sent.append((_kind, tuple(a))))
    return sent


@pytest.fixture
def role_groups(transactional_db):
    """A transactional test's flush removes the groups the data migration made; put them back."""
    from django.contrib.auth.models import Group

    for name in ("ml-engineers", "reviewers", "approvers", "auditors"):
        Group.objects.get_or_create(name=name)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real MLflow server for the whole session (webhooks enabled, their cache refreshed every second)."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"), webhook_cache_ttl=1).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def seeded_mlflow(mlflow_server):
    """The session's MLflow server seeded once with the real demo models; returns the seed summary."""
    from demo.seed import seed_demo

    return seed_demo(mlflow_server.uri, log=lambda line: None)


@pytest.fixture
def mlflow_uri(mlflow_server, settings):
    """Points the app's gateway at the session's MLflow server."""
    settings.MLFLOW_TRACKING_URI = mlflow_server.uri
    settings.MLFLOW_UI_URL = mlflow_server.uri
    return mlflow_server.uri


@pytest.fixture
def mlflow_client(mlflow_server):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=mlflow_server.uri, registry_uri=mlflow_server.uri)


def _test_database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def celery_workers(transactional_db, settings, tmp_path):
    """Starts real Celery worker processes on the real broker (Redis) and one private queue, using the test
    database: `start(*extra_args)` → the process (its own session: `os.killpg` ends it with its children),
    started with the environment of that moment. Every worker still running is stopped at the end."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL (make test sets it)")
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    from registry_ui.celery import app, worker_command

    app.conf.task_default_queue = queue
    procs: list[subprocess.Popen] = []

    def start(*extra_args: str) -> subprocess.Popen:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=_test_database_url(),
            MLFLOW_TRACKING_URI=settings.MLFLOW_TRACKING_URI,
            MLFLOW_UI_URL=settings.MLFLOW_UI_URL,
            AUDIT_CHECKPOINT_DIR=str(settings.AUDIT_CHECKPOINT_DIR),
            MEDIA_ROOT=str(settings.MEDIA_ROOT),
            DJANGO_SETTINGS_MODULE="registry_ui.settings",
            CELERY_DEFAULT_QUEUE=queue,
        )
        log_path = tmp_path / f"worker-{len(procs) + 1}.log"
        proc = subprocess.Popen(
            [*worker_command(queue=queue, isolated=True), *extra_args],
            cwd=REPO,
            env=env,
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append(proc)
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("worker did not start:\n" + log_path.read_text())
            time.sleep(0.2)
        return proc

    yield start
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    app.conf.task_default_queue = "celery"


@pytest.fixture
def celery_worker_process(celery_workers):
    """A real Celery worker process on the real broker (Redis), using the test database."""
    return celery_workers()


@pytest.fixture
def broker_down():
    """This process's Celery messages go to a Redis address nobody listens on (Redis down)."""
    from registry_ui.celery import app
    from tests.support.faults import free_port, point_celery_at

    before = app.conf.broker_url
    point_celery_at(f"redis://127.0.0.1:{free_port()}/0")
    yield
    point_celery_at(before)


@pytest.fixture
def browser(live_server, monkeypatch):
    """Debian's Chromium, launched by Playwright, for tests against the live server."""
    # Playwright's sync API runs an event loop in this thread; scoped to the test so that other tests'
    # subprocesses (e.g. `check --deploy`) do not inherit it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    playwright_api = pytest.importorskip("playwright.sync_api")
    # The live server answers each request in a new thread: persistent connections would outlive them.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    with playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        yield browser
        browser.close()
        # The test body ran in Playwright's greenlet, where Django opened a connection of its own: close
        # it there, or the test database cannot be dropped.
        connections.close_all()
