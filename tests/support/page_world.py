"""The world the every-page browser sweep visits: real objects of every kind a page shows, with an XSS payload
(tests/support/xss.canary_text) in every free-text field. What MLflow holds (model name and description,
model and version tags, version description, run name, params, run tags, a dataset's name, digest and source)
is written into a real `mlflow server` and mirrored by a full sync; the rest goes through the app's services
(promotions, cards, tokens, flags) or, for states a test cannot reach quickly, straight into rows (a failed
apply's error, a webhook receiver's answer). `build()` returns the authorization matrix's World: users and
tokens per role, and the path-parameter values of every page."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from django.utils import timezone

from accounts import services as tokens
from approvals.models import Approval, DriftRecord, EvidencePack, GateResult, Promotion
from approvals.workflow import requests
from audit import roles
from cards import services as cards
from cards.models import BulkExport
from events.models import Attempt, Delivery, Subscription
from lineage import flags
from mirror.models import MetricHistory, ModelVersion, SyncRun
from mirror.sync import execute_sync
from packager.models import PackageJob
from tests.support.authz_world import World, _users
from tests.support.xss import canary_text as payload

METRICS = ("acc", "loss")


def _dataset_input(digest: str):
    from mlflow.entities import Dataset, DatasetInput, InputTag

    dataset = Dataset(
        name=payload("dataset_name", 500), digest=digest, source_type="local",
        source=payload("dataset_source", 2000), schema="", profile="",
    )  # fmt: skip
    return DatasetInput(dataset=dataset, tags=[InputTag(key="mlflow.data.context", value="training")])


def _mlflow(client, name: str, digest: str) -> None:
    """Three versions of one oddly named model, each from a run with metrics, params, tags and a dataset;
    v1 holds `production`."""
    experiment = client.create_experiment(f"sweep-{uuid.uuid4().hex[:8]}")
    client.create_registered_model(
        name, tags={"owner": payload("model_tag"), "primary_metric": "acc"},
        description=payload("model_description"),
    )  # fmt: skip
    for v in (1, 2, 3):
        run = client.create_run(
            experiment,
            run_name=payload("run_name", 240),
            tags={
                "mlflow.user": "alice",
                "mlflow.note.content": payload("run_description"),
                "mlflow.source.git.commit": "c0ffee" * 6 + "abcd",
                "mlflow.source.git.repoURL": "javascript:__xss='repo_url'",
                "mlflow.source.name": payload("source_name", 500),
                "team": payload("run_tag"),
            },
        )
        run_id = run.info.run_id
        client.log_param(run_id, "notes", payload("param_value"))
        for step in range(4):
            client.log_metric(run_id, "acc", 0.7 + v / 20 + step / 100, step=step)
            client.log_metric(run_id, "loss", 0.5 - v / 20 - step / 100, step=step)
        client.log_inputs(run_id, datasets=[_dataset_input(digest)])
        client.set_terminated(run_id)
        client.create_model_version(
            name, source=f"runs:/{run_id}/model", run_id=run_id,
            tags={"data_validated": "true", "note": payload("version_tag")},
            description=payload("version_description"),
        )  # fmt: skip
    client.set_registered_model_alias(name, "production", "1")


def _mirror(name: str) -> None:
    run = execute_sync(SyncRun.objects.create(kind=SyncRun.Kind.FULL).pk)
    assert run.status == "succeeded", run.error
    versions = ModelVersion.objects.filter(model__name=name)
    assert versions.count() == 3
    versions.update(
        signature={"inputs": [{"name": "x", "type": "double"}], "outputs": []},
        artifacts_read_at=timezone.now(),
    )
    for mv in versions.select_related("source_run"):
        for key in METRICS:
            MetricHistory.objects.create(
                run=mv.source_run, key=key, fetched_at=timezone.now(),
                points=[{"step": s, "timestamp": s, "value": 0.5 + s / 10} for s in range(4)],
            )  # fmt: skip


def _named(world: World) -> None:
    """Full names are free text (single sign-on sets them): they are signatures' printed names."""
    for user in world.users.values():
        user.first_name, user.last_name = payload("first_name", 150), payload("last_name", 150)
        user.save(update_fields=["first_name", "last_name"])


def _promotion(world: World, role: str, name: str, version: int, target: str, state: str) -> Promotion:
    p = requests.promotion_request(
        user=world.users[role], model_name=name, version=version, target=target,
        justification=payload(f"justification_{state}"),
    )  # fmt: skip
    Promotion.objects.filter(pk=p.pk).update(state=state, error=payload("promotion_error"))
    GateResult.objects.filter(promotion=p).update(detail=payload("gate_detail"))
    return p


def _sign(p: Promotion, user, decision: str = "approve") -> None:
    Approval.objects.create(
        promotion=p, reviewer=user, printed_name=payload("printed_name", 300), decision=decision,
        comment=payload("signature_comment"), signed_at=timezone.now(),
    )  # fmt: skip


# (variant, requester role, version, target, state): one promotion in each state a page shows differently.
PROMOTIONS = [
    ("awaiting", roles.ML_ENGINEERS, 2, "production", Promotion.State.AWAITING_APPROVAL),
    ("blocked", roles.ML_ENGINEERS, 3, "production", Promotion.State.BLOCKED),
    ("applied", roles.ML_ENGINEERS, 2, "staging", Promotion.State.APPLIED),
    ("rejected", roles.REVIEWERS, 3, "staging", Promotion.State.REJECTED),
    ("cancelled", roles.ML_ENGINEERS, 1, "guarded", Promotion.State.CANCELLED),
    ("failed", roles.ML_ENGINEERS, 2, "legacy", Promotion.State.FAILED),
    ("checking", roles.REVIEWERS, 3, "guarded", Promotion.State.CHECKING),
]


def _governance(world: World, name: str) -> None:
    world.params["promotion"] = {}
    approver = world.users[roles.APPROVERS]
    for variant, role, version, target, state in PROMOTIONS:
        p = _promotion(world, role, name, version, target, state)
        world.params["promotion"][variant] = p.pk
        if state in (Promotion.State.AWAITING_APPROVAL, Promotion.State.APPLIED):
            _sign(p, approver)
        if state == Promotion.State.REJECTED:
            _sign(p, approver, decision="reject")
    mv = ModelVersion.objects.get(model__name=name, version=3)
    DriftRecord.objects.create(
        model=mv.model, target="production", mlflow_version=3, approved_version=1, detected_at=timezone.now()
    )


def _card(world: World, mv: ModelVersion) -> None:
    first = cards.ensure_card(mv=mv)
    markdown = first.markdown + "\n## Notes\n\n" + payload("card_markdown", 4000) + "\n"
    cards.save_card(
        mv=mv, markdown=markdown, author=world.users[roles.ML_ENGINEERS], base_revision=first.revision,
        comment=payload("card_comment", 500),
    )  # fmt: skip


def _jobs(world: World, mv: ModelVersion, files: Path) -> None:
    staff, eng = world.users[roles.STAFF], world.users[roles.ML_ENGINEERS]
    now = timezone.now()
    done = PackageJob.objects.create(
        version=mv, format="onnx", state=PackageJob.State.SUCCEEDED, requested_by=eng, sha256="0" * 64,
        artifact_uri=f"runs:/{mv.run_id}/packages/onnx/model.onnx", size_bytes=5, finished_at=now,
    )  # fmt: skip
    failed = PackageJob.objects.create(
        version=mv, format="tflite", state=PackageJob.State.FAILED, requested_by=eng,
        error=payload("package_error"), finished_at=now,
    )  # fmt: skip
    zipped = files / "job.zip"
    zipped.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    finished = {"state": "succeeded", "file_path": str(zipped), "finished_at": now}
    bulk = BulkExport.objects.create(requested_by=staff, formats=["md"], **finished)
    pack = EvidencePack.objects.create(requested_by=staff, formats=["md"], target="production", **finished)
    broken = SyncRun.objects.create(
        kind="full", status="failed", requested_by=staff.username, error=payload("sync_error")
    )
    world.params.update(
        package={"succeeded": done.pk, "failed": failed.pk}, bulk_export={"job": bulk.pk},
        evidence={"job": pack.pk}, sync_run={"failed": broken.pk},
    )  # fmt: skip


def _events(world: World, digest: str) -> None:
    staff, now = world.users[roles.STAFF], timezone.now()
    sub = Subscription.objects.create(
        url="https://hooks.example.com/registry?q=%22%3E%3Csvg%20onload%3D__xss%3D1%3E",
        events=["promotion.applied"], sealed_secret="v1.unused.", created_by=staff.username, created_at=now,
        description=payload("subscription_description", 200),
    )  # fmt: skip
    # What the receiver answered is the receiver's text: anyone who runs one may write anything there.
    delivery = Delivery.objects.create(
        delivery_id="sweep-1", subscription=sub, event="promotion.applied", payload={"note": payload("payload")},
        status="failed", next_attempt_at=now, created_at=now, last_error=payload("delivery_error"),
        response_excerpt=payload("receiver_answer"), attempts=1,
    )  # fmt: skip
    Attempt.objects.create(
        delivery=delivery, number=1, at=now - timedelta(seconds=5), status_code=500,
        error=payload("attempt_error"), response_excerpt=payload("attempt_answer"),
    )  # fmt: skip
    flags.flag(user=staff, data={"digest": digest, "reason": payload("flag_reason")})
    eng = world.users[roles.ML_ENGINEERS]
    spare = tokens.token_create(user=eng, actor=eng, name=payload("token_name", 100), expires_in_days=9)
    tokens.service_account_create(actor=staff, data={"username": "pipeline-bot", "role": roles.ML_ENGINEERS})
    world.params.update(
        subscription={"sub": sub.pk}, delivery={"delivery": delivery.pk}, digest={"flag": digest},
        token={"spare": spare.token.pk},
    )  # fmt: skip


def build(client, files: Path) -> tuple[World, str, str]:
    """Everything the pages show, for the test policy (set by the caller): the world, the model's name and
    the dataset's digest."""
    suffix = uuid.uuid4().hex[:6]
    name = f"{payload('model_name', 200, forbidden='/:')} {suffix}"
    digest = f"\"><svg onload=__xss='digest'>{suffix}"[:36]
    _mlflow(client, name, digest)
    _mirror(name)
    world = World()
    _users(world)
    _named(world)
    mv = ModelVersion.objects.select_related("model", "source_run").get(model__name=name, version=2)
    world.params.update(
        name={"model": quote(name, safe="")}, version={"v": 2}, revision={"r": 1}, key={"metric": "acc"}
    )
    _governance(world, name)
    _card(world, mv)
    _jobs(world, mv, files)
    _events(world, digest)
    return world, name, digest
