"""Packaging on the pages: the version page's panel and form, a job's page (polled while it runs), the jobs
list (bounded queries), the nav link."""

from __future__ import annotations

import pytest
from django.test import Client

from packager.models import PackageJob
from tests.factories import ModelVersionFactory

VERSION_PAGE = "/models/churn/versions/1/"
START = "/models/churn/versions/1/packages/start/"


@pytest.fixture
def browser_as(make_user):
    def make(username: str, *groups: str) -> Client:
        client = Client()
        client.force_login(make_user(username, *groups))
        return client

    return make


def test_an_engineer_starts_a_package_from_the_version_page_and_lands_on_its_page(mv, browser_as, sent):
    eve = browser_as("eve", "ml-engineers")
    page = eve.get(VERSION_PAGE).content.decode()
    assert 'id="version-packages"' in page and f'action="{START}"' in page
    response = eve.post(START, {"format": "onnx"})
    job = PackageJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/packages/{job.pk}/"
    detail = eve.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in detail and "waiting for a worker" in detail
    panel = eve.get(VERSION_PAGE).content.decode()
    assert 'id="package-onnx"' in panel and 'hx-get="/models/churn/versions/1/packages/"' in panel


def test_an_auditor_sees_the_panel_without_the_form_and_may_not_post_it(mv, browser_as, sent):
    audrey = browser_as("audrey", "auditors")
    page = audrey.get(VERSION_PAGE).content.decode()
    assert 'id="version-packages"' in page and START not in page
    assert audrey.post(START, {"format": "onnx"}).status_code == 403
    assert not PackageJob.objects.exists()


def test_an_unsupported_format_from_the_form_comes_back_as_a_message(mv, browser_as, sent):
    response = browser_as("eve", "ml-engineers").post(START, {"format": "pickle"}, follow=True)
    assert "onnx, torchscript, joblib, savedmodel" in response.content.decode()
    assert not PackageJob.objects.exists()


def test_a_finished_job_shows_its_results_and_the_error_sentence_without_polling(mv, browser_as, make_user):
    eve = make_user("eve", "ml-engineers")
    ok = PackageJob.objects.create(
        version=mv, format="onnx", requested_by=eve, state="succeeded", sha256="ab" * 32, size_bytes=2048,
        opset=17, parity={"rows": 5, "max_abs_diff": 1e-7, "passed": True, "tolerance": 1e-4},
        artifact_uri="runs:/r/packages/onnx/model.onnx",
    )  # fmt: skip
    bad = PackageJob.objects.create(
        version=mv, format="joblib", requested_by=eve, state="failed", error="The model file is corrupt."
    )
    client = browser_as("otto")
    page = client.get(f"/packages/{ok.pk}/").content.decode()
    assert "ab" * 32 in page and "2.0\xa0KB" in page and "passed" in page and "every 1s" not in page
    assert f'href="/packages/{ok.pk}/download/"' in page
    assert "The model file is corrupt." in client.get(f"/packages/{bad.pk}/").content.decode()
    panel = client.get(VERSION_PAGE).content.decode()
    assert "The model file is corrupt." in panel and "every 1s" not in panel


def test_the_job_page_answers_htmx_with_its_fragment_alone(mv, browser_as, sent):
    eve = browser_as("eve", "ml-engineers")
    eve.post(START, {"format": "onnx"})
    job = PackageJob.objects.get()
    fragment = eve.get(f"/packages/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert fragment.startswith('<div id="package-job"') and "<html" not in fragment


def test_the_jobs_list_filters_by_state_in_a_bounded_number_of_queries(
    mv, browser_as, make_user, django_assert_max_num_queries
):
    eve = make_user("eve", "ml-engineers")
    client = browser_as("otto")

    def add(n):
        for i in range(n):
            other = ModelVersionFactory(model__name=f"m{PackageJob.objects.count()}-{i}")
            PackageJob.objects.create(version=other, format="onnx", requested_by=eve, state="failed")

    add(3)
    with django_assert_max_num_queries(12) as few:
        client.get("/packages/")
    add(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/packages/?state=failed").content.decode()
    assert page.count('class="status status-failed"') == 23
    assert "No packaging job matches" in client.get("/packages/?state=running").content.decode()


def test_the_nav_links_the_packages_page(mv, browser_as):
    page = browser_as("otto").get("/packages/").content.decode()
    assert '<a href="/packages/" class="active" aria-current="page">Packages</a>' in page
