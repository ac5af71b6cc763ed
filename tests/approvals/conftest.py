"""Fixtures of the promotion workflow tests (the policy, people and faked MLflow are in tests/conftest.py)."""

import pytest

from tests.support.governance import mirror_alias, promote_and_apply, seed_model


@pytest.fixture
def applied(policy_file, people, fake_mlflow):
    """churn v2 promoted to staging and applied, and the webhook sync after our own apply seen."""
    seed_model("churn", (1, 2, 3))
    p = promote_and_apply(people["requester"], [people["a1"]], version=2, target="staging")
    mirror_alias("churn", {"staging": 2})
    assert p.state == "applied"
    return p
