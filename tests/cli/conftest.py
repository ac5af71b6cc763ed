"""The CLI against a live server: the mirror seeded, MLflow's writes faked in this process, Celery eager (the
gates run when the request commits, the apply when the last signature commits), a pipeline's service account."""

from __future__ import annotations

import pytest

from accounts import services
from tests.support import cli
from tests.support.governance import seed_model


@pytest.fixture
def served(policy_file, role_groups, fast_hashes, make_user, fake_mlflow, eager_tasks, live_server):
    """churn v1..v3 (v1 holds production; v3 lacks the data_validated tag), signers, and staff."""
    seed_model("churn", (1, 2, 3), aliases={"production": 1}, version_tags={3: {}})
    return {
        "url": live_server.url,
        "fake": fake_mlflow,
        "staff": make_user("stan", staff=True),
        "a1": make_user("ann", "approvers"),
        "a2": make_user("bob", "approvers"),
        "rev": make_user("rev", "reviewers"),
    }


@pytest.fixture
def pipeline_env(served, tmp_path):
    """The environment of a pipeline job: REGISTRY_URL and a service account's REGISTRY_TOKEN."""

    def make(role: str = "ml-engineers", username: str = "ci-release"):
        _, issued = services.service_account_create(
            actor=served["staff"], data={"username": username, "role": role}
        )
        return cli.cli_env(served["url"], issued.key, tmp_path)

    return make
