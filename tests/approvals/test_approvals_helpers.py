"""Shared fixtures for the promotion workflow tests (imported by test_promotion_*, test_rollback*, test_drift*)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from common.errors import MlflowRejected, MlflowUnavailable
from mirror import gateway
from mirror.models import ModelVersion
from mirror.sync import apply_snapshot
from tests.factories import mlflow_model, mlflow_run, mlflow_version, snapshot

TEST_POLICY = textwrap.dedent(
    """
    version: 1
    targets:
      staging:
        mlflow: {alias: staging}
        approvals: 1
        approver_groups: [reviewers, approvers]
        gates: [version_ready, signature_present]
      production:
        mlflow: {alias: production}
        approvals: 2
        approver_groups: [approvers]
        rollback_approvals: 1
        gates:
          - version_ready
          - signature_present
          - required_tags: {tags: {data_validated: "true"}}
          - beats_current
      guarded:
        mlflow: {alias: guarded}
        approvals: 1
        approver_groups: [approvers]
        on_drift: revert
        gates: [version_ready]
      legacy:
        mlflow: {stage: Production}
        approvals: 1
        approver_groups: [approvers]
        gates: [version_ready]
    """
)


@pytest.fixture
def policy_file(settings, tmp_path):
    from approvals import policy

    path = tmp_path / "policies.yaml"
    path.write_text(TEST_POLICY)
    settings.POLICY_PATH = str(path)
    policy.clear_cache()
    yield path
    policy.clear_cache()


@dataclass
class FakeGateway:
    """MLflow's registry writes and the reads the apply uses, in memory; `down` / `reject` simulate failures."""

    aliases: dict = field(default_factory=dict)  # {(model, alias): version}
    stages: dict = field(default_factory=dict)  # {(model, version): stage}
    down: bool = False
    reject: bool = False
    writes: list = field(default_factory=list)

    def _check(self):
        if self.down:
            raise MlflowUnavailable("connection refused (fake)")

    def get_model(self, name):
        self._check()
        return gateway.MlflowModel(
            name=name,
            description="",
            tags={},
            aliases={a: v for (m, a), v in self.aliases.items() if m == name},
            creation_timestamp=None,
            last_updated_timestamp=None,
        )

    def set_alias(self, name, alias, version):
        self._check()
        if self.reject:
            raise MlflowRejected("INVALID_PARAMETER_VALUE (fake)")
        self.writes.append(("alias", name, alias, int(version)))
        self.aliases[(name, alias)] = int(version)

    def transition_stage(self, name, version, stage, archive_existing):
        self._check()
        if self.reject:
            raise MlflowRejected("INVALID_PARAMETER_VALUE (fake)")
        self.writes.append(("stage", name, int(version), stage))
        if archive_existing:
            for key, value in list(self.stages.items()):
                if key[0] == name and value == stage:
                    self.stages[key] = "Archived"
        self.stages[(name, int(version))] = stage

    def get_version_stage(self, name, version):
        self._check()
        return self.stages.get((name, int(version)), "None")


@pytest.fixture
def fake_mlflow(monkeypatch):
    fake = FakeGateway()
    for fn in ("get_model", "set_alias", "transition_stage", "get_version_stage"):
        monkeypatch.setattr(gateway, fn, getattr(fake, fn))
    return fake


def seed_model(
    name="churn",
    versions=(1, 2),
    *,
    aliases=None,
    tags=None,
    metrics=None,
    creator="alice",
    run_user="alice",
    signed=True,
    version_tags=None,
):
    """Mirror rows for one model (no MLflow): versions READY, source runs with metrics, signatures."""
    tags = {"primary_metric": "acc", "primary_metric_goal": "maximize"} if tags is None else tags
    mvs = [
        mlflow_version(
            name,
            v,
            user_id=creator,
            tags=(version_tags or {}).get(v, {"data_validated": "true"}),
            aliases=[a for a, hv in (aliases or {}).items() if hv == v],
        )
        for v in versions
    ]
    runs = {
        mv.run_id: mlflow_run(
            mv.run_id,
            metrics={"acc": (metrics or {}).get(mv.version, 0.8 + mv.version / 100)},
            tags={"mlflow.user": run_user},
        )
        for mv in mvs
    }
    apply_snapshot(snapshot([mlflow_model(name, tags=tags, aliases=aliases or {})], mvs, runs))
    if signed:
        ModelVersion.objects.filter(model__name=name).update(
            signature={"inputs": [{"name": "x", "type": "double"}], "outputs": []},
            artifacts_read_at=timezone.now(),
        )
    return name


@pytest.fixture
def fast_hashes(settings):
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


PASSWORD = "pw-correct-horse"


def request_and_check(user, model="churn", version=2, target="staging", **kw):
    from approvals.workflow import gating, requests

    p = requests.promotion_request(user=user, model_name=model, version=version, target=target, **kw)
    gating.run_gates(promotion_id=p.pk)
    p.refresh_from_db()
    return p


def approve(p, user, **kw):
    from approvals.workflow import signatures

    kw.setdefault("password", PASSWORD)
    signatures.approval_grant(promotion_id=p.pk, user=user, **kw)
    p.refresh_from_db()
    return p


def run_outbox(p=None):
    """Apply every pending outbox item (what the worker does); returns the outcomes."""
    from approvals.models import OutboxItem
    from approvals.workflow import outbox

    qs = OutboxItem.objects.filter(done_at__isnull=True)
    if p is not None:
        qs = qs.filter(promotion=p)
    outcomes = []
    for item in qs.order_by("pk"):
        OutboxItem.objects.filter(pk=item.pk).update(next_attempt_at=timezone.now())
        outcomes.append(outbox.apply(outbox_id=item.pk)[0])
    if p is not None:
        p.refresh_from_db()
    return outcomes


def audit_actions(object_type="promotion", object_id=None):
    from audit.models import AuditEvent

    qs = AuditEvent.objects.filter(object_type=object_type)
    if object_id is not None:
        qs = qs.filter(object_id=str(object_id))
    return list(qs.order_by("seq").values_list("action", flat=True))


@pytest.fixture
def no_task_sends(monkeypatch):
    """Committed transactions would enqueue real Celery messages; record them instead."""
    from approvals import tasks

    sent = []
    monkeypatch.setattr(tasks.run_gates_task, "delay_on_commit", lambda *a, **k: sent.append(("gates", a)))
    monkeypatch.setattr(tasks.apply_outbox_task, "delay_on_commit", lambda *a, **k: sent.append(("apply", a)))
    monkeypatch.setattr(tasks.apply_outbox_task, "apply_async", lambda *a, **k: sent.append(("apply", a)))
    return sent


@pytest.fixture
def role_groups(transactional_db):
    """A transactional test's flush removes the groups the data migration made; put them back."""
    from django.contrib.auth.models import Group

    for name in ("ml-engineers", "reviewers", "approvers", "auditors"):
        Group.objects.get_or_create(name=name)
