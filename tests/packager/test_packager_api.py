"""The Packaging API of API.md: ask (202 new, 200 the live job), read, list, download; roles and bad input."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from common.errors import MlflowUnavailable
from mirror import gateway
from packager.models import PackageJob

URL = "/api/v1/models/churn/versions/1/packages"
JOB_KEYS = {
    "id", "model", "version", "format", "state", "progress", "sha256", "size_bytes", "opset", "parity", "io",
    "artifact_uri", "error", "requested_by", "attempts", "created_at", "started_at", "finished_at", "download_url",
}  # fmt: skip


def test_a_new_request_is_202_and_asking_again_returns_the_same_job_with_200(mv, engineer, sent):
    first = engineer.post(URL, {"format": "onnx"}, format="json")
    again = engineer.post(URL, {"format": "ONNX"}, format="json")
    assert first.status_code == 202, first.json()
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert PackageJob.objects.count() == 1
    assert AuditEvent.objects.filter(action="package.requested").count() == 1
    assert sent == [("packager.tasks.run_package_job", (first.json()["id"],))]


def test_the_job_answer_has_the_documented_shape(mv, engineer, sent):
    body = engineer.post(URL, {"format": "joblib"}, format="json").json()
    assert set(body) == JOB_KEYS
    assert body | {"id": 0, "created_at": ""} == body | {
        "id": 0, "created_at": "", "model": "churn", "version": 1, "format": "joblib", "state": "queued",
        "sha256": "", "parity": None, "download_url": None, "requested_by": "eve", "attempts": 0,
    }  # fmt: skip
    assert body["progress"]["percent"] == 0
    assert [s["name"] for s in body["progress"]["steps"]] == [
        "downloading", "loading", "converting", "validating", "uploading",
    ]  # fmt: skip


def test_a_succeeded_job_is_returned_but_a_failed_one_is_retried_by_a_new_job(mv, engineer, sent):
    job_id = engineer.post(URL, {"format": "onnx"}, format="json").json()["id"]
    PackageJob.objects.filter(pk=job_id).update(
        state="succeeded", artifact_uri="runs:/r/packages/onnx/m.onnx"
    )
    same = engineer.post(URL, {"format": "onnx"}, format="json")
    assert (same.status_code, same.json()["id"]) == (200, job_id)
    assert same.json()["download_url"] == f"/api/v1/packages/{job_id}/download"
    PackageJob.objects.filter(pk=job_id).update(state="failed", error="The model would not load.")
    retry = engineer.post(URL, {"format": "onnx"}, format="json")
    assert retry.status_code == 202 and retry.json()["id"] != job_id


@pytest.mark.parametrize("groups", [("auditors",), ("approvers",), ()])
def test_auditors_approvers_and_plain_users_may_not_start_packaging(mv, client_as, sent, groups):
    response = client_as("someone", *groups).post(URL, {"format": "onnx"}, format="json")
    assert response.status_code == 403
    assert "ml-engineers" in response.json()["detail"]
    assert not PackageJob.objects.exists()


def test_reviewers_and_staff_may_start_packaging(mv, client_as, sent):
    assert client_as("rev", "reviewers").post(URL, {"format": "onnx"}, format="json").status_code == 202
    assert client_as("stan", staff=True).post(URL, {"format": "joblib"}, format="json").status_code == 202


def test_anonymous_calls_are_401(mv):
    assert APIClient().post(URL, {"format": "onnx"}, format="json").status_code == 401
    assert APIClient().get("/api/v1/packages/").status_code == 401


@pytest.mark.parametrize(
    "body", [{"format": "pickle"}, {"format": ""}, {}, {"format": 3}, {"format": ["onnx"]}]
)
def test_an_unsupported_or_missing_format_is_a_400_naming_the_supported_ones(mv, engineer, sent, body):
    response = engineer.post(URL, body, format="json")
    assert response.status_code == 400
    assert "onnx, torchscript, joblib, savedmodel" in response.json()["detail"]
    assert not PackageJob.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(mv, engineer, sent):
    assert engineer.post(URL, ["onnx"], format="json").status_code == 400
    assert engineer.post(URL, "{bad json", content_type="application/json").status_code == 400


def test_an_unknown_version_or_model_is_a_404(mv, engineer, sent):
    assert (
        engineer.post(
            "/api/v1/models/churn/versions/9/packages", {"format": "onnx"}, format="json"
        ).status_code
        == 404
    )
    assert engineer.get("/api/v1/models/nope/versions/1/packages").status_code == 404
    assert engineer.get("/api/v1/packages/999").status_code == 404


def test_a_version_lists_its_jobs_as_a_bare_array_newest_first(mv, engineer, sent):
    ids = [engineer.post(URL, {"format": f}, format="json").json()["id"] for f in ("onnx", "joblib")]
    listed = engineer.get(URL).json()
    assert [j["id"] for j in listed] == ids[::-1]


def test_every_job_lists_paginated_and_filters_by_state(mv, engineer, sent):
    ids = [engineer.post(URL, {"format": f}, format="json").json()["id"] for f in ("onnx", "joblib")]
    PackageJob.objects.filter(pk=ids[0]).update(state="failed")
    body = engineer.get("/api/v1/packages/?state=failed").json()
    assert body["count"] == 1 and body["results"][0]["id"] == ids[0]
    assert engineer.get("/api/v1/packages/?state=bogus").status_code == 400
    assert engineer.get("/api/v1/packages/?page=x").status_code in (400, 404)


def test_an_auditor_reads_a_job(mv, engineer, client_as, sent):
    job_id = engineer.post(URL, {"format": "onnx"}, format="json").json()["id"]
    response = client_as("audrey", "auditors").get(f"/api/v1/packages/{job_id}")
    assert response.status_code == 200 and response.json()["id"] == job_id


def test_the_download_streams_the_package_from_mlflow(mv, engineer, sent, artifacts):
    job_id = engineer.post(URL, {"format": "onnx"}, format="json").json()["id"]
    assert engineer.get(f"/api/v1/packages/{job_id}/download").status_code == 404  # not built yet
    uri = "runs:/run/packages/onnx/model.onnx"
    artifacts.logged[uri] = b"the package"
    PackageJob.objects.filter(pk=job_id).update(state="succeeded", artifact_uri=uri, sha256="ab" * 32)
    response = engineer.get(f"/api/v1/packages/{job_id}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"the package"
    assert "churn-v1-onnx-model.onnx" in response["Content-Disposition"]
    assert response["X-Package-SHA256"] == "ab" * 32


def test_the_download_is_a_503_while_mlflow_is_down(mv, engineer, sent, monkeypatch):
    def down(uri):
        raise MlflowUnavailable("refused")

    monkeypatch.setattr(gateway, "open_artifact", down)
    job_id = engineer.post(URL, {"format": "onnx"}, format="json").json()["id"]
    PackageJob.objects.filter(pk=job_id).update(
        state="succeeded", artifact_uri="runs:/r/packages/onnx/m.onnx"
    )
    response = engineer.get(f"/api/v1/packages/{job_id}/download")
    assert response.status_code == 503 and "unreachable" in response.json()["detail"]


def test_a_format_the_versions_flavor_cannot_take_is_a_400_naming_the_ones_it_can(mv, engineer, sent):
    response = engineer.post(URL, {"format": "torchscript"}, format="json")
    assert response.status_code == 400
    assert "onnx, joblib" in response.json()["detail"] and not PackageJob.objects.exists()
