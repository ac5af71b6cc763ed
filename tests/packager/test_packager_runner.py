"""The worker's side of a job: claim under a lease, steps, results, exactly-once finish, every failure a sentence."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from common.errors import ArtifactTooLarge, MlflowUnavailable
from mirror.models import MlflowWrite
from packager import formats, lease, runner, services
from packager.models import PackageJob
from tests.packager.conftest import fake_build


@pytest.fixture
def job(mv, make_user, sent) -> PackageJob:
    created, _ = services.request_package(user=make_user("eve", "ml-engineers"), mv=mv, fmt="onnx")
    return created


def actions(job) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="package", object_id=str(job.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_a_job_runs_its_steps_and_records_hash_size_opset_parity_and_where_mlflow_keeps_it(
    job, artifacts, sent
):
    assert runner.run_job(job.pk, build=fake_build) == "succeeded"
    job.refresh_from_db()
    package = artifacts.logged[job.artifact_uri]
    assert job.artifact_uri == f"runs:/{job.version.run_id}/packages/onnx/model.onnx"
    assert (job.state, job.sha256, job.size_bytes) == (
        "succeeded",
        hashlib.sha256(package).hexdigest(),
        len(package),
    )
    assert (job.opset, job.parity["passed"], job.parity["tolerance"], job.percent) == (17, True, 1e-4, 100)
    assert all(step["started_at"] and step["finished_at"] for step in job.steps)
    assert (job.worker, job.lease_expires_at, job.attempts) == ("", None, 1)
    assert actions(job) == ["package.requested", "package.started", "package.succeeded"]


def test_a_succeeded_job_queues_the_version_tag_through_the_outbox(
    job, artifacts, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        runner.run_job(job.pk, build=fake_build)
    job.refresh_from_db()
    write = MlflowWrite.objects.get()
    assert (write.model_name, write.version, write.key, write.value) == (
        "churn",
        1,
        "package.onnx.sha256",
        job.sha256,
    )
    assert ("registry_ui.tasks.apply_mlflow_write_task", (write.pk,)) in sent


def test_only_one_worker_can_claim_a_job(job):
    first = lease.claim(job.pk, "worker-a")
    assert first is not None and first.worker == "worker-a"
    assert lease.claim(job.pk, "worker-b") is None
    assert PackageJob.objects.get(pk=job.pk).worker == "worker-a"


def test_a_finished_or_missing_job_is_left_alone(job, artifacts):
    runner.run_job(job.pk, build=fake_build)
    assert runner.run_job(job.pk, build=fake_build) == "skipped"
    assert runner.run_job(987654, build=fake_build) == "skipped"
    assert actions(job).count("package.succeeded") == 1


def test_a_worker_that_lost_its_lease_finishes_nothing(job):
    claimed = lease.claim(job.pk, "worker-a")
    PackageJob.objects.filter(pk=job.pk).update(worker="worker-b")  # the sweep gave it to another worker
    with pytest.raises(lease.LeaseLost):
        lease.heartbeat(job.pk, "worker-a")
    assert lease.finish(claimed, "worker-a", state="succeeded", sha256="x") is False
    assert lease.finish(claimed, "worker-b", state="succeeded", sha256="y") is True
    assert lease.finish(claimed, "worker-b", state="succeeded", sha256="z") is False
    assert PackageJob.objects.get(pk=job.pk).sha256 == "y"
    assert actions(job).count("package.succeeded") == 1


def test_a_run_that_loses_its_lease_mid_way_reports_lost_and_writes_nothing(job, artifacts):
    def stolen(fmt, model_dir, out_dir, *, tolerance, on_step):
        PackageJob.objects.filter(pk=job.pk).update(worker="someone-else")
        on_step("converting")

    assert runner.run_job(job.pk, build=stolen) == "lost"
    job.refresh_from_db()
    assert (job.state, job.worker, job.error) == ("running", "someone-else", "")
    assert "package.failed" not in actions(job)


def raising(exc):
    def build(fmt, model_dir, out_dir, *, tolerance, on_step):
        on_step("converting")
        raise exc

    return build


@pytest.mark.parametrize(
    ("exc", "sentence"),
    [
        (RuntimeError("boom"), "Packaging failed unexpectedly (RuntimeError)"),
        (MlflowUnavailable("refused"), "MLflow could not be reached"),
        (ValueError("unsupported operator"), "Packaging failed unexpectedly (ValueError)"),
        (formats.UnsupportedFormat("Format pickle is not supported."), "Format pickle is not supported."),
    ],
)
def test_a_failing_build_ends_the_job_failed_with_a_sentence(job, artifacts, exc, sentence):
    assert runner.run_job(job.pk, build=raising(exc)) == "failed"
    job.refresh_from_db()
    assert job.state == "failed" and job.error.startswith(sentence)
    assert job.finished_at is not None and job.worker == "" and job.step == "converting"
    assert actions(job)[-1] == "package.failed"


def test_an_artifact_over_the_limit_fails_with_the_limit_named(job, artifacts, settings):
    artifacts.fail_download = ArtifactTooLarge(3_000_000, 1_000_000)
    assert runner.run_job(job.pk, build=fake_build) == "failed"
    job.refresh_from_db()
    assert "over the limit of 1.0 MB (PACKAGE_MAX_ARTIFACT_BYTES)" in job.error and job.step == "downloading"


def test_a_version_without_a_source_run_fails_with_a_sentence(job, artifacts):
    type(job.version).objects.filter(pk=job.version_id).update(run_id="")
    assert runner.run_job(job.pk, build=fake_build) == "failed"
    assert "no source run" in PackageJob.objects.get(pk=job.pk).error


def test_the_sweep_gives_an_expired_job_back_to_the_queue_and_resends_it(job, sent):
    lease.claim(job.pk, "killed-worker")
    sent.clear()
    PackageJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert lease.sweep()["requeued"] == [job.pk]
    job.refresh_from_db()
    assert (job.state, job.worker, job.lease_expires_at) == ("queued", "", None)
    assert sent == [("packager.tasks.run_package_job", (job.pk,))]
    assert actions(job)[-1] == "package.requeued"
    assert lease.claim(job.pk, "second-worker").attempts == 2


def test_the_sweep_leaves_a_live_lease_alone_and_gives_up_after_the_last_attempt(job, sent, settings):
    lease.claim(job.pk, "busy-worker")
    assert lease.sweep() == {"requeued": [], "failed": [], "resent": []}
    settings.PACKAGE_MAX_ATTEMPTS = 1
    PackageJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert lease.sweep()["failed"] == [job.pk]
    job.refresh_from_db()
    assert job.state == "failed" and "stopped 1 times" in job.error


def test_the_sweep_resends_a_queued_job_nobody_claimed(job, sent):
    sent.clear()
    PackageJob.objects.filter(pk=job.pk).update(queued_at=timezone.now() - timedelta(hours=1))
    assert lease.sweep()["resent"] == [job.pk]
    assert lease.sweep()["resent"] == []  # not again before another while
    assert sent == [("packager.tasks.run_package_job", (job.pk,))]


def test_a_conversion_error_ends_the_job_with_the_converters_sentence(job, artifacts):
    sentence = "The model uses an operator ONNX cannot express (MyTransformer)."
    assert runner.run_job(job.pk, build=raising(formats.PackagingFailed(sentence))) == "failed"
    assert PackageJob.objects.get(pk=job.pk).error == sentence


def test_a_parity_failure_keeps_the_measured_parity_on_the_failed_job(job, artifacts):
    parity = formats.Parity(rows=20, max_abs_diff=0.3, passed=False, tolerance=1e-4)
    failure = formats.ParityFailed("The package's predictions differ from the original's.", parity)
    assert runner.run_job(job.pk, build=raising(failure)) == "failed"
    job.refresh_from_db()
    assert job.parity == {"rows": 20, "max_abs_diff": 0.3, "passed": False, "tolerance": 1e-4}
    assert job.error == "The package's predictions differ from the original's."


STRICT_POLICY = """
version: 1
targets:
  production:
    mlflow: {alias: production}
    approvals: 1
    approver_groups: [approvers]
    gates:
      - {package_valid: {format: onnx, parity: true, tolerance: 0.001}}
      - {package_valid: {format: onnx, parity: true, tolerance: 0.000001}}
"""


def _recording_build(seen: list[float]):
    def build(fmt, model_dir, out_dir, *, tolerance, on_step):
        seen.append(tolerance)
        return fake_build(fmt, model_dir, out_dir, tolerance=tolerance, on_step=on_step)

    return build


def test_the_parity_check_uses_the_strictest_tolerance_of_the_models_package_gates(
    job, artifacts, use_policy
):
    use_policy(STRICT_POLICY)
    seen: list[float] = []
    assert runner.run_job(job.pk, build=_recording_build(seen)) == "succeeded"
    assert seen == [0.000001]


def test_without_a_tolerance_in_the_policy_the_setting_is_used(job, artifacts, use_policy, settings):
    use_policy(
        STRICT_POLICY.split("      - {package_valid: {format: onnx, parity: true, tolerance: 0.001}}")[0]
        + "      - {package_valid: {format: onnx, parity: true}}\n"
    )
    settings.PACKAGE_PARITY_TOLERANCE = 0.25
    seen: list[float] = []
    assert runner.run_job(job.pk, build=_recording_build(seen)) == "succeeded"
    assert seen == [0.25]
