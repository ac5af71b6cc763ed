"""The workflow's own state changes go out: a promotion requested, approved and applied through the real services
makes one delivery per event a subscription asked for (the audit chain is the single source)."""

import pytest

from events.models import Delivery
from tests.support.governance import promote_and_apply, seed_model

pytestmark = pytest.mark.django_db


def test_a_promotion_through_the_workflow_makes_its_deliveries(
    receiver, subscribe, policy_file, people, fake_mlflow, no_task_sends
):
    subscribe(receiver.url(), events=["promotion.requested", "promotion.approved", "promotion.applied"])
    subscribe(receiver.url(), events=["promotion.rejected", "drift.detected"])
    seed_model("churn", (1, 2, 3))
    p = promote_and_apply(people["requester"], [people["a1"]], version=2, target="staging")
    assert p.state == "applied"
    rows = list(Delivery.objects.order_by("audit_seq").values_list("event", "payload"))
    assert [event for event, _ in rows] == ["promotion.requested", "promotion.approved", "promotion.applied"]
    applied = rows[-1][1]
    assert applied["object"] == {"type": "promotion", "id": str(p.pk)}
    assert applied["data"]["model"] == "churn" and applied["data"]["version"] == 2
    assert applied["data"]["target"] == "staging"
