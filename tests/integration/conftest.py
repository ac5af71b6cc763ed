"""Fixtures of the end-to-end tests: the test policy shared with the worker subprocess, the people who sign, a
private MLflow server."""

from __future__ import annotations

import pytest


@pytest.fixture
def governed(role_groups, fast_hashes, make_user):
    return {
        "requester": make_user("rita", "ml-engineers"),
        "a1": make_user("ann", "approvers"),
        "a2": make_user("bob", "approvers"),
    }


@pytest.fixture
def own_mlflow(tmp_path_factory, settings):
    """A private MLflow server, so stopping it does not disturb the rest of the session."""
    from demo.mlflow_process import MlflowServer

    server = MlflowServer(tmp_path_factory.mktemp("wf-mlflow")).start()
    settings.MLFLOW_TRACKING_URI = server.uri
    settings.MLFLOW_UI_URL = server.uri
    yield server
    server.stop()
