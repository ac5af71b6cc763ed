"""Card pages: view, editor with live preview, conflict shown with both texts, revisions, diff, bulk export."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from cards import bulk, services
from cards.models import BulkExport, CardRevision
from mirror.models import ModelVersion
from mirror.sync import apply_snapshot
from tests import factories as f

pytestmark = pytest.mark.django_db
BASE = "/models/churn/versions/1/card/"


@pytest.fixture
def mirror():
    apply_snapshot(
        f.snapshot(
            [f.mlflow_model("churn", aliases={"production": "2"}), f.mlflow_model("other")],
            [
                f.mlflow_version("churn", 1),
                f.mlflow_version("churn", 2, aliases=["production"]),
                f.mlflow_version("other", 1),
            ],
        )  # fmt: skip
    )
    return ModelVersion.objects.select_related("model").get(model__name="churn", version=1)


@pytest.fixture
def editor_client(client, make_user):
    client.force_login(make_user("eve", "ml-engineers"))
    return client


def test_the_card_page_shows_the_rendered_card_and_its_meter(client_user, mirror):
    r = client_user.get(BASE)
    assert r.status_code == 200
    html = r.content.decode()
    assert '<meter class="meter"' in html and "Intended use" in html
    assert "generated:start" not in html
    assert "/edit/" not in html  # a reader gets no edit button


def test_the_version_page_panel_shows_completeness_and_links(client_user, mirror):
    services.ensure_card(mv=mirror)
    html = client_user.get("/models/churn/versions/1/").content.decode()
    assert 'id="model-card"' in html and "revision 1" in html and "?format=pdf" in html


def test_readers_cannot_open_the_editor(client_user, mirror):
    assert client_user.get(BASE + "edit/").status_code == 403


def test_saving_in_the_editor_makes_a_revision(editor_client, mirror):
    r = editor_client.get(BASE + "edit/")
    assert r.status_code == 200 and 'name="base_revision" value="1"' in r.content.decode()
    r = editor_client.post(
        BASE + "edit/", {"markdown": "# New text\r\n", "comment": "rewrite", "base_revision": "1"}
    )
    assert r.status_code == 302
    rev = CardRevision.objects.get(version=mirror, revision=2)
    assert rev.markdown == "# New text\n" and rev.author == "eve" and rev.comment == "rewrite"


def test_a_stale_save_in_the_editor_is_refused_showing_both_texts(editor_client, mirror, make_user):
    editor_client.get(BASE + "edit/")  # eve opens revision 1
    services.save_card(
        mv=mirror, markdown="# Bob's text\n", author="bob", base_revision=1, comment="bob was first"
    )
    r = editor_client.post(
        BASE + "edit/", {"markdown": "# Eve's text\n", "comment": "", "base_revision": "1"}
    )
    assert r.status_code == 409
    html = r.content.decode()
    assert "someone else saved this card" in html
    assert "# Bob&#x27;s text" in html and "# Eve&#x27;s text" in html  # both texts
    assert 'name="base_revision" value="2"' in html  # a deliberate re-save is based on the new revision
    assert CardRevision.objects.filter(version=mirror).count() == 2


def test_broken_front_matter_in_the_editor_is_refused_naming_the_line(editor_client, mirror):
    r = editor_client.post(BASE + "edit/", {"markdown": "---\ntags: x\n---\n", "base_revision": "1"})
    assert r.status_code == 400
    assert "line 2" in r.content.decode()
    assert CardRevision.objects.filter(version=mirror).count() == 1


def test_the_live_preview_is_sanitised_server_side(editor_client, mirror):
    r = editor_client.post(BASE + "preview/", {"markdown": "## Intended use\n\nOK <script>alert(1)</script>"
                                                           '<img src=x onerror="alert(1)">'})  # fmt: skip
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="card-preview"' in html and "<h2" in html
    assert "<script" not in html and "onerror" not in html


def test_the_preview_reports_front_matter_errors(editor_client, mirror):
    html = editor_client.post(BASE + "preview/", {"markdown": "---\nlicense: [\n---\n# x"}).content.decode()
    assert "front matter, line" in html


def test_revisions_and_diff_pages(editor_client, mirror):
    editor_client.get(BASE)
    services.save_card(mv=mirror, markdown="# Two\n", author="eve", base_revision=1)
    assert "r2" in editor_client.get(BASE + "revisions/").content.decode()
    assert editor_client.get(BASE + "revisions/1/").status_code == 200
    assert editor_client.get(BASE + "revisions/9/").status_code == 404
    r = editor_client.get(BASE + "diff/?from=1&to=2")
    assert r.status_code == 200 and 'class="diff"' in r.content.decode()
    assert editor_client.get(BASE + "diff/?from=1&to=9").status_code == 404


def test_the_regenerate_button_keeps_human_text(editor_client, mirror):
    md = services.ensure_card(mv=mirror).markdown + "\nHuman tail.\n"
    services.save_card(mv=mirror, markdown=md, author="eve", base_revision=1)
    r = editor_client.post(BASE + "regenerate/", {"base_revision": "2"})
    assert r.status_code == 302
    assert "Human tail." in CardRevision.objects.filter(version=mirror).order_by("-revision").first().markdown


def test_page_export_and_unknown_format(client_user, mirror):
    r = client_user.get(BASE + "export/?format=md")
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    r = client_user.get(BASE + "export/?format=doc")
    assert r.status_code == 400 and b"md, html, pdf, json" in r.content


def test_version_list_meter_tag_uses_one_query(mirror, django_assert_num_queries):
    from django.template import Context, Template

    versions = list(ModelVersion.objects.select_related("model"))
    for mv in versions:
        services.ensure_card(mv=mv)
    tpl = Template(
        "{% load cards %}{% card_scores rows as scores %}{% for mv, m in rows %}{% card_meter scores mv %}{% endfor %}"
    )
    with django_assert_num_queries(1):
        html = tpl.render(Context({"rows": [(mv, None) for mv in versions]}))
    assert html.count("<meter") == len(versions)


# --- bulk export ------------------------------------------------------------------------------------------
def test_only_auditors_and_staff_may_bulk_export(client_user, mirror, client, make_user):
    assert client_user.get("/cards/exports/").status_code == 403
    client.force_login(make_user("aud", "auditors"))
    assert client.get("/cards/exports/").status_code == 200


def test_bulk_export_zip_by_alias_and_models(mirror, make_user):
    auditor = make_user("aud", "auditors")
    versions = bulk.versions_in_scope(model_names=[], alias="production")
    assert [(v.model.name, v.version) for v in versions] == [("churn", 2)]
    versions = bulk.versions_in_scope(model_names=["other"], alias="production")
    assert [(v.model.name, v.version) for v in versions] == [("churn", 2), ("other", 1)]

    job = BulkExport.objects.create(
        requested_by=auditor, models_selected=["churn"], formats=["md", "json", "html"]
    )
    bulk.run_bulk_export(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    assert (job.done, job.total, job.progress) == (2, 2, 100)
    with open(job.file_path, "rb") as fh:
        zf = zipfile.ZipFile(io.BytesIO(fh.read()))
    names = set(zf.namelist())
    assert {"index.json", "index.csv", "index.html"} <= names
    index = json.loads(zf.read("index.json"))
    assert [(r["model"], r["version"]) for r in index] == [("churn", 1), ("churn", 2)]
    for row in index:
        for meta in row["files"].values():
            assert meta["path"] in names
    assert row["card_content_hash"].startswith("sha256:")


def test_bulk_export_api_and_page_flow(
    mirror, make_user, client, monkeypatch, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    from cards import tasks

    ran = []
    monkeypatch.setattr(tasks.build_bulk_export_task, "delay", lambda pk: ran.append(pk))
    api = APIClient()
    api.force_authenticate(make_user("aud", "auditors"))
    with django_capture_on_commit_callbacks(execute=True):  # the build is sent once the job row commits
        r = api.post("/api/v1/cards/exports/", {"alias": "production", "formats": ["md"]}, format="json")
    assert r.status_code == 202, r.content
    job_id = r.json()["id"]
    assert r.json()["state"] == "queued" and ran == [job_id]
    assert api.post("/api/v1/cards/exports/", {"formats": ["docx"]}, format="json").status_code == 400
    assert api.post("/api/v1/cards/exports/", {}, format="json").status_code == 400
    assert api.post("/api/v1/cards/exports/", {"models": ["nope"]}, format="json").status_code == 400
    bulk.run_bulk_export(job_id=job_id)
    body = api.get(f"/api/v1/cards/exports/{job_id}/").json()
    assert body["state"] == "succeeded" and body["progress"] == 100
    download = api.get(body["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"

    client.force_login(make_user("aud2", "auditors"))
    page = client.get(f"/cards/exports/{job_id}/").content.decode()
    assert "Download zip" in page
    partial = client.get(f"/cards/exports/{job_id}/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="bulk-job"') and "hx-trigger" not in partial  # finished: polling stops


def test_reader_cannot_start_a_bulk_export(api, mirror):
    assert api.post("/api/v1/cards/exports/", {"alias": "production"}, format="json").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_the_bulk_export_while_the_job_row_shows_progress(
    celery_worker_process, make_user
):
    import time

    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    Group.objects.get_or_create(name="auditors")
    apply_snapshot(
        f.snapshot([f.mlflow_model("churn", aliases={"production": "2"})],
                   [f.mlflow_version("churn", 1), f.mlflow_version("churn", 2, aliases=["production"])])
    )  # fmt: skip
    api = APIClient()
    api.force_authenticate(make_user("aud", "auditors"))
    r = api.post("/api/v1/cards/exports/", {"models": ["churn"], "formats": ["md", "pdf"]}, format="json")
    assert r.status_code == 202
    url = f"/api/v1/cards/exports/{r.json()['id']}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        body = api.get(url).json()
        if body["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    assert body["state"] == "succeeded", body
    assert (body["done"], body["total"]) == (2, 2)
    zf = zipfile.ZipFile(io.BytesIO(b"".join(api.get(body["download_url"]).streaming_content)))
    assert sum(name.endswith(".pdf") for name in zf.namelist()) == 2
