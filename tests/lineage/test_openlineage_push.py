"""With OPENLINEAGE_URL set, each version that appears in the mirror has its run events pushed (by a worker)."""

import pytest
import requests

from lineage import tasks
from mirror import hooks
from mirror.models import ModelVersion
from mirror.sync import ApplyResult
from tests.lineage.test_impact_api import seed

pytestmark = pytest.mark.django_db


class Post:
    def __init__(self, status=200):
        self.calls, self.status = [], status

    def __call__(self, url, *, json, timeout):
        self.calls.append((url, json))
        response = requests.Response()
        response.status_code = self.status
        return response


def version_id(name, version):
    return ModelVersion.objects.get(model__name=name, version=version).pk


def test_push_posts_each_run_event_to_the_endpoint(settings, monkeypatch):
    seed()
    settings.OPENLINEAGE_URL = "http://marquez.example:5000/"
    post = Post()
    monkeypatch.setattr(tasks.requests, "post", post)
    assert tasks.push_version(version_id("fraud", 2)) == 2
    assert [u for u, _ in post.calls] == ["http://marquez.example:5000/api/v1/lineage"] * 2
    assert [e["job"]["name"] for _, e in post.calls] == ["f2", "sweep"]


def test_nothing_is_pushed_without_a_url(settings, monkeypatch):
    seed()
    settings.OPENLINEAGE_URL = ""
    post = Post()
    monkeypatch.setattr(tasks.requests, "post", post)
    queued = []
    monkeypatch.setattr(tasks.push_openlineage_task, "delay", queued.append)
    assert tasks.push_version(version_id("churn", 1)) == 0
    tasks.push_new_versions(result=ApplyResult(new_version_ids=[version_id("churn", 1)]))
    assert post.calls == [] and queued == []


def test_new_versions_of_a_sync_are_queued_and_an_endpoint_error_raises_for_a_retry(settings, monkeypatch):
    seed()
    settings.OPENLINEAGE_URL = "http://marquez.example:5000"
    assert tasks.push_new_versions in hooks._after_sync
    queued = []
    monkeypatch.setattr(tasks.push_openlineage_task, "delay", queued.append)
    ids = [version_id("churn", 2), version_id("churn", 1)]
    tasks.push_new_versions(sync_run_id=1, result=ApplyResult(new_version_ids=ids))
    assert queued == sorted(ids)
    monkeypatch.setattr(tasks.requests, "post", Post(status=503))
    with pytest.raises(requests.HTTPError):
        tasks.push_version(ids[0])
