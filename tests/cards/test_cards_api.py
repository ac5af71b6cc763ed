"""Model card API (API.md "Model cards"): GET drafts lazily, PUT with If-Match makes one revision per save."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from cards import services
from cards.models import CardRevision
from cards.sections import HUMAN_SECTIONS
from mirror.models import ModelVersion
from mirror.sync import apply_snapshot
from tests import factories as f

pytestmark = pytest.mark.django_db
URL = "/api/v1/models/churn/versions/{v}/card"


@pytest.fixture
def mirror():
    runs = {
        "run1": f.mlflow_run(
            "run1",
            metrics={"f1": 0.8, "auc": 0.9},
            params={"C": "1.0"},
            tags={"mlflow.user": "alice", "mlflow.source.name": "train.py", "mlflow.source.git.commit": "abc123",
                  "data.rows": "1000"},
            datasets=[{"name": "customers", "digest": "d1g3st", "source_type": "local", "source": "/data/c.csv",
                       "context": "training", "schema": "", "profile": '{"num_rows": 1000}'}],
        ),
        "run2": f.mlflow_run("run2", metrics={"f1": 0.85}),
    }  # fmt: skip
    apply_snapshot(
        f.snapshot(
            [f.mlflow_model("churn", aliases={"production": "1"})],
            [
                f.mlflow_version("churn", 1, run_id="run1", aliases=["production"]),
                f.mlflow_version("churn", 2, run_id="run2"),
            ],
            runs=runs,
        )  # fmt: skip
    )
    return {v.version: v for v in ModelVersion.objects.select_related("model", "source_run")}


@pytest.fixture
def editor(make_user):
    client = APIClient()
    client.force_authenticate(make_user("eve", "ml-engineers"))
    return client


def put(client, version, markdown, etag='"1"', **extra):
    headers = {"HTTP_IF_MATCH": etag} if etag is not None else {}
    return client.put(URL.format(v=version), {"markdown": markdown, **extra}, format="json", **headers)


def written(markdown: str) -> str:
    for key, (_, placeholder) in HUMAN_SECTIONS.items():
        markdown = markdown.replace(placeholder, f"Written {key} text.")
    return markdown


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


def test_revisions_list_view_and_unknown_revision(editor, mirror):
    editor.get(URL.format(v=1))
    put(editor, 1, "# two\n", comment="second")
    revs = editor.get(URL.format(v=1) + "/revisions").json()
    assert [r["revision"] for r in revs] == [2, 1]
    assert revs[0]["updated_by"] == "eve"
    one = editor.get(URL.format(v=1) + "/revisions/1")
    assert one.status_code == 200 and one.json()["revision"] == 1 and one["ETag"] == '"1"'
    assert editor.get(URL.format(v=1) + "/revisions/7").status_code == 404


def _second_revision_with_markup(editor):
    md = editor.get(URL.format(v=1)).json()["markdown"]
    put(editor, 1, md.replace(HUMAN_SECTIONS["factors"][1], "Region <b>and</b> tenure."))


def test_diff_between_revisions(editor, mirror):
    _second_revision_with_markup(editor)
    r = editor.get(URL.format(v=1) + "/diff?from=1&to=2")
    assert r.status_code == 200
    html = r.json()["html"]
    assert 'class="diff"' in html and "diff_" in html
    assert "&lt;b&gt;and&lt;/b&gt;" in html and "<b>" not in html  # escaped: shown, never rendered
    assert editor.get(URL.format(v=1) + "/diff?from=1&to=9").status_code == 404
    assert editor.get(URL.format(v=1) + "/diff?from=x&to=2").status_code == 400


def test_diff_as_a_unified_text_diff(editor, mirror):
    _second_revision_with_markup(editor)
    r = editor.get(URL.format(v=1) + "/diff?from=1&to=2&format=unified")
    assert r.status_code == 200
    assert r["Content-Type"] == "text/plain; charset=utf-8"
    text = r.content.decode()
    assert text.startswith("--- revision 1\n+++ revision 2\n@@ ")
    assert "\n-" + HUMAN_SECTIONS["factors"][1] in text
    assert "\n+Region <b>and</b> tenure." in text  # plain text: nothing to escape
    assert editor.get(URL.format(v=1) + "/diff?from=1&to=2").json()["html"]  # the default is unchanged
    assert editor.get(URL.format(v=1) + "/diff?from=1&to=9&format=unified").status_code == 404
    assert editor.get(URL.format(v=1) + "/diff?from=1&to=2&format=pdf").status_code == 400


def test_unknown_export_format_is_400_listing_formats(api, mirror):
    r = api.get(URL.format(v=1) + "/export?format=docx")
    assert r.status_code == 400
    assert r.json()["formats"] == ["md", "html", "pdf", "json"]
    assert "md, html, pdf, json" in r.json()["detail"]
    assert api.get(URL.format(v=1) + "/export").status_code == 400


def test_markdown_export_carries_revision_hashes_and_signoffs(api, mirror):
    card = api.get(URL.format(v=1))
    r = api.get(URL.format(v=1) + "/export?format=md")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/markdown")
    assert "attachment" in r["Content-Disposition"]
    text = r.content.decode()
    rev = CardRevision.objects.get(version=mirror[1])
    assert rev.content_hash in text and "| Card revision | 1 |" in text
    assert "## Sign-offs and gate results" in text
    assert text.startswith(card.json()["markdown"].rstrip("\n"))


def test_html_export_is_standalone_without_scripts(api, mirror):
    mirror[1].content_hash = "sha256:" + "ab" * 32
    mirror[1].save(update_fields=["content_hash"])
    r = api.get(URL.format(v=1) + "/export?format=html")
    assert r.status_code == 200
    html = r.content.decode()
    assert html.startswith("<!doctype html>")
    assert "<script" not in html.lower()
    assert "sha256:" + "ab" * 32 in html
    assert "Sign-offs and gate results" in html
    assert "<link" not in html  # nothing fetched from elsewhere: styles and images are embedded
    assert "default-src 'none'" in r["Content-Security-Policy"]


def test_export_of_an_older_revision(editor, mirror):
    editor.get(URL.format(v=1))
    put(editor, 1, "# Second revision\n")
    old = editor.get(URL.format(v=1) + "/export?format=md&revision=1").content.decode()
    assert "| Card revision | 1 |" in old
    assert editor.get(URL.format(v=1) + "/export?format=md&revision=5").status_code == 404


def test_regenerate_keeps_human_text(editor, mirror):
    md = editor.get(URL.format(v=1)).json()["markdown"]
    md = md.replace(HUMAN_SECTIONS["intended_use"][1], "Only for churn scoring.")
    md = md.replace("| f1 |", "| f1 (edited inside a generated block) |")
    put(editor, 1, md)
    run = mirror[1].source_run
    run.metrics = {"f1": 0.8, "auc": 0.9, "brier": 0.12}
    run.save(update_fields=["metrics"])
    r = editor.post(URL.format(v=1) + "/regenerate", HTTP_IF_MATCH='"2"')
    assert r.status_code == 200, r.content
    new = r.json()["markdown"]
    assert r.json()["revision"] == 3
    assert "Only for churn scoring." in new
    assert "brier" in new and "edited inside a generated block" not in new
    assert editor.post(URL.format(v=1) + "/regenerate").status_code == 428


def test_each_revision_is_audited(editor, mirror):
    from audit.models import AuditEvent

    editor.get(URL.format(v=1))
    put(editor, 1, "# x\n", comment="why")
    events = list(AuditEvent.objects.filter(action="card.revised").order_by("seq"))
    if not events:
        pytest.skip("audit.services.record is not merged yet")
    assert [e.data["revision"] for e in events] == [1, 2]
    assert events[-1].actor == "eve" and events[-1].object_id == "churn/1"


def test_card_status_for_the_gate(mirror):
    from cards.selectors import card_status

    assert card_status(mirror[2]) == {"revision": None, "score": None, "missing": [], "content_hash": None}
    rev = services.ensure_card(mv=mirror[2])
    status = card_status(mirror[2])
    assert status["revision"] == 1 and status["score"] == rev.score
    assert status["content_hash"] == rev.content_hash and status["content_hash"].startswith("sha256:")
    assert "intended_use" in status["missing"]


def test_scores_for_a_version_list_take_one_query(mirror, django_assert_num_queries):
    from cards.selectors import scores_for_versions

    for mv in mirror.values():
        services.ensure_card(mv=mv)
    with django_assert_num_queries(1):
        scores = scores_for_versions(list(mirror.values()))
    assert set(scores) == {mv.pk for mv in mirror.values()}


def test_openapi_schema_describes_the_card_endpoints(api):
    r = api.get("/api/schema/?format=json", HTTP_ACCEPT="application/json")
    paths = json.loads(r.content)["paths"] if r["Content-Type"].startswith("application/json") else None
    if paths is None:
        import yaml

        paths = yaml.safe_load(r.content)["paths"]
    base = "/api/v1/models/{name}/versions/{version}/card"
    for suffix in ("", "/revisions", "/revisions/{revision}", "/diff", "/export"):
        assert base + suffix in paths
    assert "put" in paths[base]


def test_rendered_html_is_served_from_the_revision_cache(mirror, django_assert_num_queries):
    from cards.selectors import _HtmlCache, latest_html

    rev = services.ensure_card(mv=mirror[1])
    with django_assert_num_queries(2):
        assert latest_html(mirror[1]) == rev.html  # the revision's id, then its stored html
    with django_assert_num_queries(1):
        assert latest_html(mirror[1]) == rev.html  # only the id: the html comes from the cache
    cache = _HtmlCache(100)
    cache.put(1, "a" * 20)
    cache.put(2, "b" * 20)
    cache.put(3, "c" * 26)  # over a quarter of the budget: not cached
    assert cache.get(3) is None
    for pk in range(4, 10):
        cache.put(pk, "x" * 20)
    assert cache.size <= 100 and cache.get(1) is None and cache.get(9) == "x" * 20
