"""Drift: an alias moved in MLflow that no applied promotion explains is recorded, audited and resolved."""

from __future__ import annotations

import pytest

from approvals import selectors
from approvals.models import DriftRecord, OutboxItem, TargetHolding
from tests.support.governance import (
    approve,
    audit_actions,
    mirror_alias,
    promote_and_apply,
    request_and_check,
    run_outbox,
    seed_model,
)

pytestmark = pytest.mark.django_db


def test_our_own_apply_is_not_drift(applied):
    assert DriftRecord.objects.count() == 0


def test_an_alias_moved_outside_the_app_is_recorded_and_audited(applied):
    mirror_alias("churn", {"staging": 3})
    d = DriftRecord.objects.get()
    assert (d.target, d.mlflow_version, d.approved_version, d.resolved_at, d.action) == (
        "staging",
        3,
        2,
        None,
        "flag",
    )
    assert audit_actions("drift", d.pk) == ["drift.detected"]
    assert [x.pk for x in selectors.open_drift_for_model(d.model)] == [d.pk]
    # the timeline shows what really held the target
    assert list(TargetHolding.objects.filter(target="staging").values_list("version", flat=True)) == [2, 3]


def test_drift_is_recorded_once_and_resolved_when_mlflow_matches_again(applied):
    mirror_alias("churn", {"staging": 3})
    mirror_alias("churn", {"staging": 3})
    assert DriftRecord.objects.count() == 1
    mirror_alias("churn", {"staging": 2})
    d = DriftRecord.objects.get()
    assert d.resolved_at is not None
    assert audit_actions("drift", d.pk) == ["drift.detected", "drift.resolved"]


def test_a_removed_alias_is_drift_too(applied):
    mirror_alias("churn", {})
    d = DriftRecord.objects.get()
    assert d.mlflow_version is None and d.approved_version == 2


def test_no_drift_for_targets_this_app_never_applied(policy_file):
    seed_model("other", (1, 2))
    mirror_alias("other", {"production": 2}, versions=(1, 2))
    assert DriftRecord.objects.count() == 0


def test_a_version_being_applied_is_not_drift(policy_file, people, fake_mlflow):
    seed_model("churn", (1, 2, 3))
    promote_and_apply(people["requester"], [people["a1"]], version=1, target="staging")
    p = request_and_check(people["requester"], version=2, target="staging")
    approve(p, people["a1"])  # approved, not yet applied; the worker already moved MLflow and a sync ran
    mirror_alias("churn", {"staging": 2})
    assert DriftRecord.objects.count() == 0


def test_on_drift_revert_puts_mlflow_back_and_audits_it(policy_file, people, fake_mlflow):
    seed_model("churn", (1, 2, 3))
    promote_and_apply(people["requester"], [people["a1"]], version=2, target="guarded")
    fake_mlflow.aliases[("churn", "guarded")] = 3  # someone moved it in MLflow directly
    mirror_alias("churn", {"guarded": 3})
    d = DriftRecord.objects.get()
    assert d.action == "revert"
    item = OutboxItem.objects.get(kind="revert")
    assert item.version == 2
    assert run_outbox() == ["applied"]
    assert fake_mlflow.aliases[("churn", "guarded")] == 2
    d.refresh_from_db()
    assert d.resolved_at is not None
    assert audit_actions("drift", d.pk) == ["drift.detected", "drift.revert_enqueued", "drift.reverted"]


def test_drift_api_lists_records(applied, api):
    mirror_alias("churn", {"staging": 3})
    body = api.get("/api/v1/drift/").json()
    assert body == [
        {
            "id": body[0]["id"],
            "model": "churn",
            "target": "staging",
            "mlflow_version": 3,
            "approved_version": 2,
            "detected_at": body[0]["detected_at"],
            "resolved_at": None,
            "action": "flag",
        }
    ]
    assert body[0]["detected_at"].endswith("+00:00") or body[0]["detected_at"].endswith("Z")


def _sync_read_at_start(name, aliases, started_at):
    """A targeted sync whose read of MLflow began at `started_at`, written and checked now."""
    from approvals.workflow import drift
    from mirror.models import SyncRun
    from mirror.sync import apply_snapshot
    from tests.factories import mlflow_model, mlflow_version, snapshot

    run = SyncRun.objects.create(kind="webhook", model_name=name, status="running", started_at=started_at)
    mvs = [mlflow_version(name, v, aliases=[a for a, hv in aliases.items() if hv == v]) for v in (1, 2, 3)]
    result = apply_snapshot(
        snapshot([mlflow_model(name, aliases=aliases, tags={"primary_metric": "acc"})], mvs, scope=name)
    )
    drift.on_sync(sync_run_id=run.pk, result=result)


def test_a_sync_that_read_mlflow_before_an_apply_was_recorded_is_not_drift(policy_file, people, fake_mlflow):
    """Found by the fault suite: a sync read MLflow just before the worker set the alias, and checked drift just
    after the apply was recorded; its stale read showed no holder."""
    from django.utils import timezone

    seed_model("churn", (1, 2, 3))
    read_began = timezone.now()
    promote_and_apply(people["requester"], [people["a1"]], version=2, target="staging")
    _sync_read_at_start("churn", {}, read_began)
    assert DriftRecord.objects.count() == 0
    _sync_read_at_start("churn", {}, timezone.now())  # a read after the apply: the alias really is gone
    assert DriftRecord.objects.get().mlflow_version is None
