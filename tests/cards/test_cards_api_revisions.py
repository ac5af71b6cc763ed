"""Model card API (API.md "Model cards"): revisions listed and diffed, exports in every format and of older
revisions, regeneration keeping human text, every revision audited, the card status for the gate, scores in
one query, the OpenAPI schema, rendered HTML from the revision cache."""

from __future__ import annotations

import json

import pytest

from cards import services
from cards.models import CardRevision
from cards.sections import HUMAN_SECTIONS
from tests.support.cards import URL, put

pytestmark = pytest.mark.django_db


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
