"""The one seeded world the authorization matrix acts on: a user (and an API token) per role, two mirrored
models, three promotions awaiting approval (object relations: an eligible target, an ineligible one, a version
whose author is an approver), a card with two revisions, a succeeded package job, a dataset flag, a spare token,
a subscription with a delivery, a bulk card export, an evidence pack and a sync run. `seed()` returns the
path-parameter values (`World.params`) and the relations of each object the rules ask about."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts import services as tokens
from approvals.models import EvidencePack, Promotion
from approvals.workflow import requests
from audit import roles
from cards import services as cards
from cards.models import BulkExport
from events.models import Delivery, Subscription
from lineage.models import DatasetFlag
from mirror.models import MetricHistory, ModelVersion, SyncRun
from mirror.sync import apply_snapshot
from packager.models import PackageJob
from tests import factories as f
from tests.support.authz_rules import ROLES, USERNAMES, Subject
from tests.support.governance import PASSWORD

DIGEST = "d1g3st-flagged"
PACKAGE_URI = "runs:/run-churn-2/packages/onnx/model.onnx"


@dataclass
class World:
    users: dict = field(default_factory=dict)  # role -> User
    keys: dict = field(default_factory=dict)  # role -> API key
    params: dict = field(default_factory=dict)  # object kind -> {variant: path value}
    subjects: dict = field(default_factory=dict)  # (object kind, variant) -> Subject


def _users(world: World) -> None:
    for role in ROLES:
        user = get_user_model().objects.create_user(
            username=USERNAMES[role], password=PASSWORD, is_staff=role == roles.STAFF
        )
        if role in roles.GROUPS:
            user.groups.add(Group.objects.get(name=role))  # made by the mirror's migration
        world.users[role] = user
        world.keys[role] = tokens.token_create(user=user, actor=user, name="matrix", expires_in_days=30).key


def _promotion(world: World, role: str, model: str, version: int, target: str) -> Promotion:
    p = requests.promotion_request(
        user=world.users[role], model_name=model, version=version, target=target, justification="matrix"
    )
    Promotion.objects.filter(pk=p.pk).update(state=Promotion.State.AWAITING_APPROVAL)
    return p


def _promotions(world: World) -> None:
    eng, rev = roles.ML_ENGINEERS, roles.REVIEWERS
    cases = {
        # a staging promotion reviewers and approvers may sign
        "staging": (eng, "churn", 2, "staging"),
        # a production promotion only approvers may sign (a reviewer is not eligible)
        "production": (eng, "churn", 3, "production"),
        # a version the approver authored in MLflow, requested by the reviewer: neither may sign it
        "authored": (rev, "fraud", 1, "staging"),
    }
    world.params["promotion"] = {}
    for variant, (requester, model, version, target) in cases.items():
        p = _promotion(world, requester, model, version, target)
        world.params["promotion"][variant] = p.pk
        world.subjects[("promotion", variant)] = Subject(
            variant,
            requester=USERNAMES[requester],
            authors=frozenset(p.version.authors),
            signer_groups=frozenset(p.approver_groups),
        )


def _card(mv: ModelVersion, author) -> None:
    first = cards.ensure_card(mv=mv)
    cards.save_card(
        mv=mv, markdown=first.markdown + "\nEdited.\n", author=author, base_revision=first.revision
    )


def _jobs(world: World, mv: ModelVersion, files: Path) -> None:
    staff, eng = world.users[roles.STAFF], world.users[roles.ML_ENGINEERS]
    now = timezone.now()
    job = PackageJob.objects.create(
        version=mv, format="onnx", state=PackageJob.State.SUCCEEDED, requested_by=eng, artifact_uri=PACKAGE_URI,
        sha256="0" * 64, size_bytes=5, finished_at=now,
    )  # fmt: skip
    zipped = files / "job.zip"
    zipped.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    done = {"state": "succeeded", "file_path": str(zipped), "finished_at": now}
    bulk = BulkExport.objects.create(requested_by=staff, formats=["md"], **done)
    pack = EvidencePack.objects.create(requested_by=staff, formats=["md"], target="production", **done)
    run = SyncRun.objects.create(kind="full", status="succeeded", requested_by=staff.username)
    world.params.update(
        package={"job": job.pk},
        bulk_export={"job": bulk.pk},
        evidence={"job": pack.pk},
        sync_run={"run": run.pk},
    )


def _events_and_flags(world: World) -> None:
    staff = world.users[roles.STAFF]
    sub = Subscription.objects.create(
        url="https://hooks.example.com/registry", events=["promotion.applied"], sealed_secret="v1.unused.",
        created_by=staff.username, created_at=timezone.now(),
    )  # fmt: skip
    delivery = Delivery.objects.create(
        delivery_id="matrix-1", subscription=sub, event="promotion.applied", payload={}, status="failed",
        next_attempt_at=timezone.now(), created_at=timezone.now(),
    )  # fmt: skip
    DatasetFlag.objects.create(digest=DIGEST, reason="leak", flagged_by=staff, flagged_at=timezone.now())
    spare = tokens.token_create(
        user=world.users[roles.ML_ENGINEERS], actor=staff, name="spare", expires_in_days=9
    )
    world.params.update(
        subscription={"sub": sub.pk}, delivery={"delivery": delivery.pk}, digest={"flag": DIGEST},
        token={"spare": spare.token.pk},
    )  # fmt: skip
    world.subjects[("token", "spare")] = Subject("spare", owner=USERNAMES[roles.ML_ENGINEERS])


def _version(name: str, v: int, author: str, aliases=()):
    return f.mlflow_version(name, v, user_id=author, tags={"data_validated": "true"}, aliases=list(aliases))


def _mirror() -> None:
    """churn 1-3 (1 in production, by alice) and fraud 1 (by the approver), READY, signed, with metrics."""
    appr = USERNAMES[roles.APPROVERS]
    versions = [_version("churn", v, "alice", ["production"] if v == 1 else []) for v in (1, 2, 3)]
    versions.append(_version("fraud", 1, appr))
    data = {
        "name": "customers",
        "digest": DIGEST,
        "source_type": "local",
        "source": "/data/c.csv",
        "context": "training",
        "schema": "",
        "profile": "",
    }
    runs = {
        mv.run_id: f.mlflow_run(mv.run_id, metrics={"acc": 0.8 + mv.version / 100}, datasets=[data],
                                tags={"mlflow.user": appr if mv.name == "fraud" else "alice"})
        for mv in versions
    }  # fmt: skip
    tags = {"primary_metric": "acc"}
    models = [
        f.mlflow_model("churn", tags=tags, aliases={"production": 1}),
        f.mlflow_model("fraud", tags=tags),
    ]
    apply_snapshot(f.snapshot(models, versions, runs))
    ModelVersion.objects.update(
        signature={"inputs": [{"name": "x", "type": "double"}], "outputs": []},
        artifacts_read_at=timezone.now(),
    )


def seed(files: Path) -> World:
    """Everything the matrix's operations name, under the test policy (set by the caller)."""
    world = World()
    _users(world)
    _mirror()
    mv = ModelVersion.objects.select_related("model", "source_run").get(model__name="churn", version=2)
    world.params.update(name={"model": "churn"}, version={"v": 2}, revision={"r": 1}, key={"metric": "acc"})
    _promotions(world)
    _card(mv, world.users[roles.ML_ENGINEERS])
    MetricHistory.objects.create(
        run=mv.source_run,
        key="acc",
        points=[{"step": 0, "timestamp": 0, "value": 0.82}],
        fetched_at=timezone.now(),
    )
    _jobs(world, mv, files)
    _events_and_flags(world)
    return world


def open_artifact(uri: str):
    """The gateway's artifact read, faked: the package bytes for the seeded job."""
    data = b"onnx!"
    return io.BytesIO(data), len(data)
