"""Helpers of the promotion workflow tests: the test policy, MLflow faked in memory, a mirrored model, request /
approve / apply in one call. Their fixtures (policy_file, fake_mlflow, people, ...) are in tests/conftest.py."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from django.utils import timezone

from approvals.models import OutboxItem
from approvals.workflow import drift, gating, outbox, requests, signatures
from audit.models import AuditEvent
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


PASSWORD = "pw-correct-horse"


def change_version_after_signing(name="churn"):
    """Version 2 of the model held in production at 1 changes in MLflow (a new tag); its gates still pass."""
    seed_model(
        name, (1, 2, 3), aliases={"production": 1}, version_tags={2: {"data_validated": "true", "x": "1"}}
    )


def request_and_check(user, model="churn", version=2, target="staging", **kw):
    p = requests.promotion_request(user=user, model_name=model, version=version, target=target, **kw)
    gating.run_gates(promotion_id=p.pk)
    p.refresh_from_db()
    return p


def approve(p, user, **kw):
    kw.setdefault("password", PASSWORD)
    signatures.approval_grant(promotion_id=p.pk, user=user, **kw)
    p.refresh_from_db()
    return p


def run_outbox(p=None):
    """Apply every pending outbox item (what the worker does); returns the outcomes."""
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


def promote_and_apply(requester, approvers, **request):
    """A promotion requested (`request` as for request_and_check), gated, signed by each of `approvers` and
    applied as the worker would; returns it refreshed."""
    p = request_and_check(requester, **request)
    for approver in approvers:
        approve(p, approver)
    run_outbox(p)
    return p


def audit_actions(object_type="promotion", object_id=None):
    qs = AuditEvent.objects.filter(object_type=object_type)
    if object_id is not None:
        qs = qs.filter(object_id=str(object_id))
    return list(qs.order_by("seq").values_list("action", flat=True))


def mirror_alias(name, aliases, versions=(1, 2, 3)):
    """What a sync does when MLflow's aliases changed: the mirror follows, then the after_sync hook runs."""
    mvs = [mlflow_version(name, v, aliases=[a for a, hv in aliases.items() if hv == v]) for v in versions]
    result = apply_snapshot(
        snapshot([mlflow_model(name, aliases=aliases, tags={"primary_metric": "acc"})], mvs, scope=name)
    )
    drift.on_sync(sync_run_id=None, result=result)
    return result
