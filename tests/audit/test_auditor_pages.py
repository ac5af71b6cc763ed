"""Auditors' pages: the audit log (JSON data, newest first, filters, 400 on a bad filter) and the evidence pack
page (choose a target, see what it will hold, build it as a job with progress, download)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from audit.services import record
from tests.support.governance import seed_model

pytestmark = pytest.mark.django_db


def rows(html: str) -> list[str]:
    """The `#` column of the audit table, in page order."""
    table = html.split('<table class="table compact audit-table">', 1)
    if len(table) == 1:
        return []
    return re.findall(r'<td class="right mono">(\d+)</td>', table[1])


@pytest.fixture
def chain():
    record(actor="alice", action="promotion.requested", object_type="promotion", object_id="7",
           data={"target": "production", "ok": True, "note": None})  # fmt: skip
    record(actor="ann", action="promotion.approved", object_type="promotion", object_id="7",
           data={"meaning": "approval", "html": "<script>alert(1)</script>"})  # fmt: skip
    record(actor="alice", action="card.revised", object_type="model_version", object_id="credit/2",
           data={"revision": 2})  # fmt: skip


# --- the audit log page ------------------------------------------------------------------------------
def test_audit_page_lists_newest_first_by_default_and_chain_order_on_request(client, user, chain):
    client.force_login(user)
    newest = rows(client.get("/audit/").content.decode())
    assert newest == sorted(newest, key=int, reverse=True) and len(newest) >= 3
    oldest = rows(client.get("/audit/?order=oldest").content.decode())
    assert oldest == list(reversed(newest))


def test_audit_page_shows_event_data_as_escaped_json_not_python_reprs(client, user, chain):
    client.force_login(user)
    page = client.get("/audit/?object_id=7").content.decode()
    assert "&quot;ok&quot;: true" in page and "&quot;note&quot;: null" in page
    assert "&quot;target&quot;: &quot;production&quot;" in page
    assert "True" not in page.split("audit-table", 1)[1] and "'target'" not in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    "query,expected_actions",
    [
        ("actor=alice", {"promotion.requested", "card.revised"}),
        ("action=promotion.approved", {"promotion.approved"}),
        ("action=promotion.", {"promotion.requested", "promotion.approved"}),
        ("object_type=promotion&object_id=7", {"promotion.requested", "promotion.approved"}),
        ("object_type=model_version", {"card.revised"}),
    ],
)
def test_audit_page_filters_by_actor_event_type_and_object(client, user, chain, query, expected_actions):
    client.force_login(user)
    page = client.get(f"/audit/?{query}").content.decode()
    listed = set(re.findall(r'<a class="mono" href="\?action=[^"]*">([\w.]+)</a>', page))
    assert listed == expected_actions


def test_audit_page_filters_by_time(client, user, chain):
    client.force_login(user)
    today = timezone.now().date()
    yesterday, tomorrow = today - dt.timedelta(days=1), today + dt.timedelta(days=1)
    assert len(rows(client.get(f"/audit/?since={yesterday}&until={today}").content.decode())) >= 3
    assert rows(client.get(f"/audit/?since={tomorrow}").content.decode()) == []
    assert rows(client.get(f"/audit/?until={yesterday}").content.decode()) == []


@pytest.mark.parametrize(
    "query,field,sentence",
    [
        ("since=bad", "since", "since must be an ISO-8601 date or date-time"),
        ("until=2026-13-40", "until", "until must be an ISO-8601 date or date-time"),
        ("since=2026-02-01&until=2026-01-01", "until", "must be later than since"),
        ("order=sideways", "order", "Select a valid choice"),
        (f"actor={'x' * 300}", "actor", "at most 255 characters"),
    ],
)
def test_a_bad_audit_filter_is_a_400_with_a_sentence_and_the_chain_is_not_called_empty(
    client, user, chain, query, field, sentence
):
    client.force_login(user)
    response = client.get(f"/audit/?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    assert sentence in page
    assert f'id="err-{field}"' in page and 'aria-invalid="true"' in page
    assert "The chain is empty" not in page
    assert re.search(r"\d[\d,]* events?; head", page)  # the head of the chain is still shown
    assert rows(page) == []


def test_a_bad_since_keeps_what_was_typed_in_the_form(client, user, chain):
    client.force_login(user)
    page = client.get("/audit/?since=last+tuesday&actor=alice").content.decode()
    assert 'name="since" value="last tuesday"' in page and 'name="actor" value="alice"' in page


def test_audit_api_filters_by_until_too(api, chain):
    tomorrow = timezone.now().date() + dt.timedelta(days=1)
    assert api.get(f"/api/v1/audit/?until={tomorrow}").json()["count"] >= 3
    assert api.get("/api/v1/audit/?until=2000-01-01").json()["count"] == 0
    response = api.get("/api/v1/audit/?until=soon")
    assert response.status_code == 400 and "until" in response.json()["detail"]


# --- the evidence pack page --------------------------------------------------------------------------
@pytest.fixture
def holder(policy_file, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    seed_model("fraud", versions=(1, 2), aliases={"production": 1})
    return "fraud"


@pytest.fixture
def sent_packs(monkeypatch):
    """The build is enqueued after the commit; record it instead (the task's body runs in the test)."""
    from approvals import tasks

    sent = []
    monkeypatch.setattr(tasks.build_evidence_pack_task, "delay", lambda job_id: sent.append(job_id))
    return sent


def test_auditor_chooses_a_target_and_sees_what_the_pack_will_hold(client, make_user, holder):
    client.force_login(make_user("audrey", "auditors"))
    page = client.get("/evidence/").content.decode()
    assert '<option value="production"' in page and 'id="evidence-contents"' not in page
    page = client.get("/evidence/?target=production").content.decode()
    contents = page.split('id="evidence-contents"', 1)[1]
    assert contents.count('class="evidence-row"') == 1
    assert "fraud" in contents and "v1" in contents and "not through this app" in contents
    assert "audit chain" in contents and 'id="evidence-build"' in contents


def test_auditor_builds_a_pack_as_a_job_follows_its_progress_and_downloads_it(
    client, make_user, holder, sent_packs, django_capture_on_commit_callbacks
):
    import io
    import json
    import zipfile

    from approvals.evidence_jobs import run_evidence_pack
    from approvals.models import EvidencePack

    client.force_login(make_user("audrey", "auditors"))
    with django_capture_on_commit_callbacks(execute=True):  # the build is sent once the job row commits
        response = client.post("/evidence/", {"target": "production", "formats": ["md", "json"]})
    job = EvidencePack.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/evidence/{job.pk}/"
    assert sent_packs == [job.pk] and (job.state, job.formats) == ("queued", ["md", "json"])
    partial = client.get(f"/evidence/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'hx-trigger="every 1s"' in partial and "queued" in partial

    run_evidence_pack(job_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.done, job.total, job.progress) == ("succeeded", 2, 2, 100)
    page = client.get(f"/evidence/{job.pk}/").content.decode()
    assert 'id="evidence-download"' in page and job.sha256 in page and "hx-trigger" not in page

    download = client.get(f"/evidence/{job.pk}/download/")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    pack = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    index = json.loads(pack.read("index.json"))
    assert index["target"] == "production" and index["generated_by"] == "audrey"
    assert [(v["model"], v["version"]) for v in index["versions"]] == [("fraud", 1)]
    assert any(n.endswith(".md") for n in pack.namelist()) and not any(
        n.endswith(".html") for n in pack.namelist()
    )
    assert json.loads(pack.read("audit/verification.json"))["ok"] is True


def test_a_failed_pack_says_why_and_offers_no_download(client, make_user, holder, sent_packs, settings):
    from approvals.evidence_jobs import run_evidence_pack
    from approvals.models import EvidencePack

    client.force_login(make_user("audrey", "auditors"))
    client.post("/evidence/", {"target": "production"})
    job = EvidencePack.objects.get()
    settings.POLICY_PATH = str(settings.BASE_DIR / "no-such-policy.yaml")
    from approvals import policy

    policy.clear_cache()
    run_evidence_pack(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and job.error
    assert client.get(f"/evidence/{job.pk}/download/").status_code == 404
    assert job.error in client.get(f"/evidence/{job.pk}/").content.decode()


@pytest.mark.parametrize("query", ["?target=nowhere", "?target=production&formats=docx"])
def test_a_bad_evidence_choice_is_a_400_with_a_sentence(client, make_user, holder, query):
    client.force_login(make_user("audrey", "auditors"))
    response = client.get(f"/evidence/{query}")
    assert response.status_code == 400
    assert 'id="evidence-error"' in response.content.decode()


def test_a_post_for_an_unknown_target_makes_no_job(client, make_user, holder, sent_packs):
    from approvals.models import EvidencePack

    client.force_login(make_user("audrey", "auditors"))
    response = client.post("/evidence/", {"target": "nowhere"})
    assert response.status_code == 400 and "Unknown target" in response.content.decode()
    assert not EvidencePack.objects.exists() and sent_packs == []


@pytest.mark.parametrize(
    "groups,staff,status", [((), False, 403), (("ml-engineers",), False, 403), ((), True, 200)]
)
def test_only_auditors_and_staff_see_the_evidence_page(client, make_user, holder, groups, staff, status):
    client.force_login(make_user("someone", *groups, staff=staff))
    assert client.get("/evidence/").status_code == status
    assert ('href="/evidence/"' in client.get("/audit/").content.decode()) is (status == 200)


def test_another_readers_pack_is_not_downloadable_by_a_non_auditor(client, make_user, holder, sent_packs):
    from approvals.models import EvidencePack

    auditor = make_user("audrey", "auditors")
    job = EvidencePack.objects.create(requested_by=auditor, target="production", formats=["md"])
    client.force_login(make_user("eve", "ml-engineers"))
    assert client.get(f"/evidence/{job.pk}/").status_code == 403
    assert client.get(f"/evidence/{job.pk}/download/").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    assert client.get("/evidence/").status_code == 302


@pytest.fixture
def worker_env(holder, policy_file, settings, monkeypatch):
    """The worker subprocess (started after this fixture) reads the same policy and writes where we read."""
    monkeypatch.setenv("POLICY_PATH", str(policy_file))
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_the_pack_the_page_polls(worker_env, make_user, client, celery_worker_process):
    import time

    from django.contrib.auth.models import Group

    from approvals.models import EvidencePack

    Group.objects.get_or_create(name="auditors")
    client.force_login(make_user("audrey", "auditors"))
    response = client.post("/evidence/", {"target": "production"})
    assert response.status_code == 302
    job = EvidencePack.objects.get()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        partial = client.get(f"/evidence/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
        if "succeeded" in partial or "failed" in partial:
            break
        time.sleep(0.3)
    assert 'id="evidence-download"' in partial, partial
    download = client.get(f"/evidence/{job.pk}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content)[:2] == b"PK"
