"""Asking for background work while Redis is down (the broker cannot take the message): the row is committed and
the client gets its normal answer, never a server error. Work a beat sweep finds again (a packaging job) stays
queued for the sweep; work no sweep finds (a sync run, a file job: bulk export, evidence pack) is marked failed
at once, saying the task queue could not take it, instead of showing as queued forever."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from cards.models import BulkExport
from common.queue import QUEUE_DOWN
from mirror.models import SyncRun
from packager import services as packaging
from packager.models import PackageJob
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_a_sync_asked_for_while_the_broker_is_down_is_answered_and_marked_failed(
    staff, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        r = _api(staff).post("/api/v1/sync/")
    assert r.status_code == 202, r.content
    run = SyncRun.objects.get(pk=r.json()["id"])
    assert (run.status, run.error) == ("failed", QUEUE_DOWN) and run.finished_at is not None
    listed = _api(staff).get("/api/v1/sync/runs/").json()["results"][0]
    assert listed["id"] == run.pk and listed["status"] == "failed"


def test_a_bulk_export_asked_for_while_the_broker_is_down_fails_saying_why(
    make_user, broker_down, django_capture_on_commit_callbacks
):
    auditor = make_user("aud", "auditors")
    ModelVersionFactory(model__name="churn", version=1)
    with django_capture_on_commit_callbacks(execute=True):
        r = _api(auditor).post("/api/v1/cards/exports/", {"models": ["churn"], "formats": ["md"]}, format="json")
    assert r.status_code == 202, r.content
    job = BulkExport.objects.get(pk=r.json()["id"])
    assert (job.state, job.error) == ("failed", QUEUE_DOWN)
    shown = _api(auditor).get(f"/api/v1/cards/exports/{job.pk}/").json()
    assert shown["state"] == "failed" and "task queue" in shown["error"]


def test_a_package_asked_for_while_the_broker_is_down_stays_queued_for_the_sweep(
    make_user, broker_down, django_capture_on_commit_callbacks, caplog
):
    mv = ModelVersionFactory(model__name="churn", version=1, flavors=["python_function", "sklearn"])
    with django_capture_on_commit_callbacks(execute=True):
        job, created = packaging.request_package(user=make_user("eve", "ml-engineers"), mv=mv, fmt="joblib")
    assert created and PackageJob.objects.get(pk=job.pk).state == "queued"
    assert "the beat sweep will send it again" in caplog.text
