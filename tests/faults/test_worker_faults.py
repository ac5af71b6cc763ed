"""A worker SIGKILLed in the middle of a gate run, a packaging job and an apply: the other worker finishes each
exactly once. Real processes: PostgreSQL, two Celery workers on Redis, a real `mlflow server` for the apply and
the packaging job. "In the middle" is observed before the kill (the worker's own log line from inside the step,
the promotion row it holds locked, the job's lease, the alias already moved in MLflow). Redelivery does not wait
for Redis's visibility timeout (hours): the beat sweeps re-drive the work, run here from the test."""

from __future__ import annotations

import os
import uuid

import pytest
from django.db import OperationalError, transaction

from approvals.models import GateResult, OutboxItem, Promotion
from approvals.workflow import gating, outbox, requests, signatures
from audit.models import AuditEvent
from mirror.models import ModelVersion
from packager import lease
from packager import services as package_services
from packager.models import PackageJob
from tests.factories import ModelVersionFactory
from tests.support.faults import beat, kill_worker, repeats, stalled, wait_for, worker_log
from tests.support.governance import PASSWORD, seed_model
from tests.support.live import seed_small_model, sync_model

pytestmark = [pytest.mark.celery]
STALL = ("--include", "tests.faults.stall")
SLOW_BUILD = (
    "--include",
    "tests.packager.slow_build",
)  # the converter's stand-in, stalling on PACKAGE_TEST_STALL


@pytest.fixture
def governed(role_groups, fast_hashes, make_user):
    return {"requester": make_user("rita", "ml-engineers"), "a1": make_user("ann", "approvers")}


@pytest.fixture
def short_sweeps(settings, monkeypatch):
    """Work is taken as lost after a second, not after the production intervals."""
    for name, value in (("GATE_SWEEP_SECONDS", 1), ("OUTBOX_LEASE_SECONDS", 2)):
        setattr(settings, name, value)
        monkeypatch.setenv(name, str(value))


def logged_version(client, name: str, tmp_path) -> ModelVersion:
    """Version 1 of `name` registered in MLflow from a run's `model/` files, and mirrored."""
    run_id = client.create_run(client.create_experiment(name)).info.run_id
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors:\n  sklearn: {}\n")
    (model / "model.pkl").write_bytes(os.urandom(2048))
    client.log_artifacts(run_id, str(model), "model")
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    mv = ModelVersionFactory(model__name=name, version=1, source_run__run_id=run_id, flavors=["sklearn"])
    return ModelVersion.objects.select_related("model").get(pk=mv.pk)


def row_locked(pk: int) -> bool:
    """True while another connection (the worker's gate run) holds the promotion row locked."""
    try:
        with transaction.atomic():
            Promotion.objects.select_for_update(nowait=True).filter(pk=pk).first()
    except OperationalError:
        return True
    return False


def promotion_actions(pks) -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(object_type="promotion", object_id__in=[str(pk) for pk in pks]).values_list(
            "object_id", "action"
        )
    )


def test_a_gate_run_killed_mid_transaction_is_run_once_by_the_other_worker(
    policy_file, governed, short_sweeps, celery_workers, tmp_path, monkeypatch, fault_table
):
    # Six requests: the first worker takes four (four threads, prefetch 1); two wait in Redis. Of its four, the
    # first to get the locks it needs stalls holding them, the others then wait on those locks or stall too.
    name = seed_model("gk", tuple(range(1, 7)))
    pks = [
        requests.promotion_request(
            user=governed["requester"], model_name=name, version=v, target="staging"
        ).pk
        for v in range(1, 7)
    ]
    monkeypatch.setenv("FAULT_STALL", "gates")
    first = celery_workers(*STALL)
    wait_for(lambda: worker_log(tmp_path, 1).count("run_gates_task[") >= 4, 30, "four gate runs received")
    held = wait_for(lambda: stalled(tmp_path, 1, "gates"), 30, "the first worker inside a gate run")
    assert all(row_locked(int(pk)) for pk in held)  # mid-transaction: the row is the worker's
    assert set(Promotion.objects.filter(pk__in=pks).values_list("state", flat=True)) == {"checking"}
    kill_worker(first)

    monkeypatch.delenv("FAULT_STALL")
    celery_workers(*STALL)
    promotions = Promotion.objects.filter(pk__in=pks)
    wait_for(lambda: not promotions.filter(state="checking").exists(), 30, "every gate run",
             every=beat(gating.sweep_gates))  # fmt: skip

    actions = promotion_actions(pks)
    evaluated = [pk for pk, action in actions if action == "promotion.gates_evaluated"]
    decided = [pk for pk, action in actions if action == "promotion.awaiting_approval"]
    done = promotions.filter(state="awaiting_approval").count()
    assert GateResult.objects.filter(promotion__in=pks, status="passed").count() == 2 * len(pks)
    row = fault_table(
        "worker killed in a gate run",
        len(pks),
        lost=len(pks) - done,
        duplicated=repeats(evaluated) + repeats(decided),
    )
    assert (row.lost, row.duplicated) == (0, 0)
    assert len(set(evaluated)) == len(pks)


def test_an_apply_killed_after_mlflow_took_the_alias_is_finished_once_by_the_other_worker(
    policy_file, governed, short_sweeps, mlflow_uri, mlflow_client, celery_workers, tmp_path, monkeypatch,
    fault_table,
):  # fmt: skip
    name = f"fault-apply-{uuid.uuid4().hex[:8]}"
    seed_small_model(mlflow_uri, name)
    sync_model(name)
    monkeypatch.setenv("FAULT_STALL", "apply")
    first = celery_workers(*STALL)
    p = requests.promotion_request(user=governed["requester"], model_name=name, version=2, target="staging")
    promotion = Promotion.objects.filter(pk=p.pk)
    wait_for(lambda: promotion.filter(state="awaiting_approval").exists(), 30, "the gates")
    signatures.approval_grant(promotion_id=p.pk, user=governed["a1"], password=PASSWORD)
    wait_for(lambda: stalled(tmp_path, 1, "apply"), 30, "the first worker inside the apply")
    assert mlflow_client.get_registered_model(name).aliases["staging"] == "2"  # MLflow took it ...
    assert promotion.get().state == "applying"  # ... and the worker had not recorded it yet
    kill_worker(first)

    monkeypatch.delenv("FAULT_STALL")
    celery_workers(*STALL)
    wait_for(lambda: promotion.filter(state="applied").exists(), 30, "the apply by the other worker",
             every=beat(outbox.sweep_outbox))  # fmt: skip

    actions = [action for _, action in promotion_actions([p.pk])]
    items = OutboxItem.objects.filter(promotion=p)
    alias = mlflow_client.get_registered_model(name).aliases.get("staging")
    row = fault_table(
        "worker killed in an apply",
        1,
        lost=int(alias != "2" or not items.filter(outcome="applied").exists()),
        duplicated=max(actions.count("promotion.applied") - 1, 0)
        + max(actions.count("promotion.applying") - 1, 0)
        + max(items.count() - 1, 0),
    )
    assert (row.lost, row.duplicated) == (0, 0)
    assert items.get().attempts == 2  # the killed worker's attempt, then the other worker's


def test_a_packaging_job_killed_while_converting_is_finished_once_by_the_other_worker(
    mlflow_uri, mlflow_client, celery_workers, settings, monkeypatch, make_user, role_groups, tmp_path,
    fault_table,
):  # fmt: skip
    mv = logged_version(mlflow_client, f"fault-pkg-{uuid.uuid4().hex[:8]}", tmp_path)
    monkeypatch.setenv("PACKAGE_LEASE_SECONDS", "1.5")
    settings.PACKAGE_LEASE_SECONDS = 1.5
    monkeypatch.setenv("PACKAGE_TEST_STALL", "1")
    first = celery_workers(*SLOW_BUILD)
    job, _ = package_services.request_package(user=make_user("eve", "ml-engineers"), mv=mv, fmt="onnx")
    jobs = PackageJob.objects.filter(version=mv, format="onnx")
    running = wait_for(lambda: jobs.filter(state="running", step="converting").first(), 30, "the conversion")
    assert running.lease_expires_at is not None
    kill_worker(first)

    monkeypatch.delenv("PACKAGE_TEST_STALL")
    celery_workers(*SLOW_BUILD)
    done = wait_for(lambda: jobs.filter(state__in=["succeeded", "failed"]).first(), 30, "the other worker",
                    every=beat(lease.sweep))  # fmt: skip
    tag = wait_for(
        lambda: mlflow_client.get_model_version(mv.model.name, "1").tags.get("package.onnx.sha256"),
        30,
        "the version tag",
    )

    actions = list(
        AuditEvent.objects.filter(object_type="package", object_id=str(job.pk)).values_list(
            "action", flat=True
        )
    )
    uploaded = [a.path for a in mlflow_client.list_artifacts(mv.run_id, "packages/onnx")]
    row = fault_table(
        "worker killed in a packaging job",
        1,
        lost=int(done.state != "succeeded" or tag != done.sha256),
        duplicated=max(jobs.count() - 1, 0)
        + max(actions.count("package.succeeded") - 1, 0)
        + max(len(uploaded) - 1, 0),
    )
    assert (row.lost, row.duplicated) == (0, 0)
    assert (done.attempts, actions.count("package.requeued")) == (2, 1)
    assert uploaded == ["packages/onnx/model.onnx"]
