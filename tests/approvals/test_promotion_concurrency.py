"""Twenty approvers signing at the same moment on PostgreSQL: one approved transition, one outbox row, one apply."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from approvals.models import Approval, OutboxItem, Promotion
from approvals.workflow import outbox, requests, signatures
from common.errors import Conflict, DomainError
from tests.support.governance import PASSWORD, audit_actions, request_and_check, seed_model


def _race(fn, args_list):
    barrier = threading.Barrier(len(args_list))
    results: list = [None] * len(args_list)

    def worker(i, args):
        try:
            barrier.wait(timeout=30)
            results[i] = fn(*args)
        except DomainError as exc:
            results[i] = exc
        except Exception as exc:  # reported by the assertion below
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.postgres_only  # row locks under real concurrency
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_approvers_produce_one_approval_transition_and_one_apply(
    policy_file, role_groups, fast_hashes, make_user, fake_mlflow, no_task_sends
):
    from audit.verification import verify

    seed_model("raced", (1, 2), aliases={"production": 1})
    requester = make_user("rita", "ml-engineers")
    approvers = [make_user(f"appr{i:02d}", "approvers") for i in range(20)]
    p = request_and_check(requester, model="raced", version=2, target="production")
    assert p.state == "awaiting_approval"

    def sign(user):
        return signatures.approval_grant(promotion_id=p.pk, user=user, password=PASSWORD)

    results = _race(sign, [(u,) for u in approvers])
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)]
    assert not unexpected, unexpected
    ok = [r for r in results if isinstance(r, Promotion)]
    assert len(ok) == 2  # quorum is 2; everyone after it gets 409
    assert Approval.objects.filter(promotion=p).count() == 2
    assert OutboxItem.objects.filter(promotion=p).count() == 1
    assert audit_actions(object_id=p.pk).count("promotion.approved") == 1

    # Two workers delivering the same outbox item at once still apply it once.
    item = OutboxItem.objects.get(promotion=p)
    outcomes = _race(lambda: outbox.apply(outbox_id=item.pk)[0], [(), (), ()])
    assert outcomes.count("applied") == 1, outcomes
    p.refresh_from_db()
    assert p.state == "applied"
    assert fake_mlflow.aliases[("raced", "production")] == 2
    assert audit_actions(object_id=p.pk).count("promotion.applied") == 1
    result = verify()
    assert result.ok, result


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_identical_requests_at_the_same_moment_create_one_promotion(
    policy_file, role_groups, fast_hashes, make_user, no_task_sends
):
    seed_model("twins", (1, 2))
    users = [make_user(f"eng{i}", "ml-engineers") for i in range(8)]
    results = _race(
        lambda u: requests.promotion_request(user=u, model_name="twins", version=2, target="staging"),
        [(u,) for u in users],
    )
    assert sum(isinstance(r, Promotion) for r in results) == 1
    assert all(isinstance(r, (Promotion, Conflict)) for r in results), results
    assert Promotion.objects.count() == 1
