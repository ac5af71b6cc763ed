"""Model card API (API.md "Model cards"): GET drafts lazily, PUT with If-Match makes one revision per save."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from cards.models import CardRevision
from tests.support.cards import URL, put, written

pytestmark = pytest.mark.django_db


def test_reading_a_card_drafts_it_from_the_mirror(api, mirror):
    r = api.get(URL.format(v=1))
    assert r.status_code == 200
    body = r.json()
    assert r["ETag"] == '"1"'
    assert body["revision"] == 1
    assert body["updated_by"] == "system"
    assert set(body) >= {"revision", "markdown", "html", "completeness", "updated_by", "updated_at"}
    md = body["markdown"]
    for fact in (
        "customers",
        "d1g3st",
        "/data/c.csv",
        "1000",
        "train.py",
        "abc123",
        "f1",
        "auc",
        "0.8",
        "production",
    ):
        assert fact in md, fact
    assert body["completeness"]["missing"] == [
        "intended_use", "out_of_scope_uses", "evaluation_data", "factors", "ethical_considerations",
        "caveats_and_recommendations",
    ]  # fmt: skip
    assert 0 < body["completeness"]["score"] < 1
    assert "<table>" in body["html"] and "generated:start" not in body["html"]


def test_a_second_read_does_not_draft_again(api, mirror):
    api.get(URL.format(v=1))
    api.get(URL.format(v=1))
    assert CardRevision.objects.filter(version=mirror[1]).count() == 1


def test_save_with_if_match_makes_a_new_revision(editor, mirror):
    md = written(editor.get(URL.format(v=1)).json()["markdown"])
    r = put(editor, 1, md, comment="Wrote the human sections")
    assert r.status_code == 200, r.content
    assert r["ETag"] == '"2"'
    body = r.json()
    assert body["revision"] == 2 and body["updated_by"] == "eve"
    assert body["completeness"] == {"score": 1.0, "missing": []}
    assert editor.get(URL.format(v=1) + "/revisions").json()[0]["comment"] == "Wrote the human sections"


def test_bare_revision_number_is_accepted_as_if_match(editor, mirror):
    editor.get(URL.format(v=1))
    assert put(editor, 1, "# x\n", etag="1").status_code == 200


def test_stale_if_match_is_412_and_nothing_is_saved(editor, mirror, make_user):
    editor.get(URL.format(v=1))
    assert put(editor, 1, "# first\n").status_code == 200  # revision 2
    r = put(editor, 1, "# based on an old revision\n", etag='"1"')
    assert r.status_code == 412
    assert "revision 2" in r.json()["detail"]
    assert CardRevision.objects.filter(version=mirror[1]).count() == 2


def test_missing_if_match_is_428(editor, mirror):
    editor.get(URL.format(v=1))
    assert put(editor, 1, "# x\n", etag=None).status_code == 428


def test_garbage_if_match_is_412(editor, mirror):
    editor.get(URL.format(v=1))
    assert put(editor, 1, "# x\n", etag='"abc"').status_code == 412


def test_readers_and_auditors_cannot_edit(api, mirror, make_user):
    api.get(URL.format(v=1))
    assert put(api, 1, "# x\n").status_code == 403
    auditor = APIClient()
    auditor.force_authenticate(make_user("aud", "auditors"))
    assert put(auditor, 1, "# x\n").status_code == 403


@pytest.mark.parametrize("group", ["reviewers", "ml-engineers"])
def test_engineers_and_reviewers_can_edit(make_user, mirror, group):
    client = APIClient()
    client.force_authenticate(make_user("x", group))
    client.get(URL.format(v=1))
    assert put(client, 1, "# x\n").status_code == 200


def test_staff_can_edit(staff, mirror):
    client = APIClient()
    client.force_authenticate(staff)
    client.get(URL.format(v=1))
    assert put(client, 1, "# x\n").status_code == 200


def test_anonymous_gets_401(mirror):
    assert APIClient().get(URL.format(v=1)).status_code == 401


def test_unknown_version_is_404(api, mirror):
    assert api.get(URL.format(v=99)).status_code == 404
    assert api.get("/api/v1/models/nope/versions/1/card").status_code == 404


def test_a_card_over_the_limit_is_413_naming_the_limit(editor, mirror, settings):
    settings.CARD_MAX_BYTES = 1000
    editor.get(URL.format(v=1))
    r = put(editor, 1, "x" * 1001)
    assert r.status_code == 413
    assert "1000 bytes" in r.json()["detail"]
    assert put(editor, 1, "x" * 1000).status_code == 200


def test_a_huge_body_is_413_before_parsing(editor, mirror, settings):
    settings.CARD_MAX_BYTES = 1000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    editor.get(URL.format(v=1))
    r = put(editor, 1, "x" * 10_000)
    assert r.status_code == 413


def test_the_default_limit_is_256_kibibytes(editor, mirror, settings):
    assert settings.CARD_MAX_BYTES == 256 * 1024  # the worst card of this size renders in under a second
    editor.get(URL.format(v=1))
    assert put(editor, 1, "é" * (128 * 1024 + 1)).status_code == 413  # 2 bytes each in UTF-8


def test_invalid_utf8_is_400(editor, mirror):
    editor.get(URL.format(v=1))
    body = b'{"markdown": "caf\xe9"}'
    r = editor.generic("PUT", URL.format(v=1), body, content_type="application/json", HTTP_IF_MATCH='"1"')
    assert r.status_code == 400
    r = editor.generic(
        "PUT", URL.format(v=1), b"# caf\xe9\n", content_type="text/markdown", HTTP_IF_MATCH='"1"'
    )
    assert r.status_code == 400
    assert "UTF-8" in r.json()["detail"]
    assert CardRevision.objects.filter(version=mirror[1]).count() == 1


def test_lone_surrogates_and_nul_are_400(editor, mirror):
    editor.get(URL.format(v=1))
    r = editor.generic("PUT", URL.format(v=1), b'{"markdown": "a\\ud800b"}', content_type="application/json",
                       HTTP_IF_MATCH='"1"')  # fmt: skip
    assert r.status_code == 400
    assert put(editor, 1, "a\x00b").status_code == 400


def test_markdown_body_is_accepted(editor, mirror):
    editor.get(URL.format(v=1))
    r = editor.generic(
        "PUT", URL.format(v=1), "# Café\n".encode(), content_type="text/markdown", HTTP_IF_MATCH='"1"'
    )
    assert r.status_code == 200
    assert r.json()["markdown"] == "# Café\n"


def test_broken_front_matter_is_400_naming_the_line(editor, mirror):
    editor.get(URL.format(v=1))
    r = put(editor, 1, "---\nlicense: mit\ntags: nope\n---\n# Card\n")
    assert r.status_code == 400
    assert r.json()["line"] == 3
    assert "line 3" in r.json()["detail"]
    assert CardRevision.objects.filter(version=mirror[1]).count() == 1


@pytest.mark.parametrize("bad", [{"markdown": 5}, {"comment": "no markdown"}, ["a"]])
def test_malformed_bodies_are_400(editor, mirror, bad):
    editor.get(URL.format(v=1))
    r = editor.put(URL.format(v=1), bad, format="json", HTTP_IF_MATCH='"1"')
    assert r.status_code == 400


def test_saved_html_is_sanitised(editor, mirror):
    editor.get(URL.format(v=1))
    r = put(
        # The link on a line of its own: on the <script> line it is raw HTML, shown as text (CommonMark).
        editor,
        1,
        '# Hi\n<script>alert(1)</script><img src=x onerror="alert(1)">\n\n[x](javascript:alert(1))\n',
    )
    html = r.json()["html"]
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
