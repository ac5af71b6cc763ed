"""A card's standalone HTML export carries its CSP in the document and loads nothing from outside when opened
from disk."""

from __future__ import annotations

import pytest


# --- card export: the standalone HTML loads nothing from outside when opened from disk --------------------
def _card_version():
    from cards import services
    from mirror.models import ModelVersion
    from mirror.sync import apply_snapshot
    from tests import factories as f

    apply_snapshot(f.snapshot([f.mlflow_model("churn")], [f.mlflow_version("churn", 1, run_id="run1")]))
    mv = ModelVersion.objects.select_related("model", "source_run").get()
    return mv, services.ensure_card(mv=mv)


def _exported_html_with_image(url: str) -> str:
    from cards import exports, selectors, services

    mv, rev = _card_version()
    services.save_card(
        mv=mv, markdown=rev.markdown + f"\n![tracker]({url})\n", author="eve", base_revision=rev.revision
    )
    rev = selectors.latest_revision(mv)
    html = exports.export_html(mv, rev, exports.export_record(mv, rev))
    assert f'src="{url}"' not in html  # the sanitiser drops remote images; the CSP would stop them too
    return html


@pytest.mark.django_db
def test_card_html_export_carries_its_csp_in_the_document():
    from html.parser import HTMLParser

    from cards import exports

    html = _exported_html_with_image("http://127.0.0.1:9/pixel.png")

    class Head(HTMLParser):
        policy, seen_before = None, []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "content-security-policy":
                Head.policy = attrs.get("content")
            elif Head.policy is None and tag not in ("html", "head", "meta"):
                Head.seen_before.append(tag)

    Head().feed(html)
    assert Head.policy == exports.EXPORT_CSP
    assert "img-src data:" in Head.policy and "default-src 'none'" in Head.policy
    assert Head.seen_before == []  # the policy precedes every element that could load something


@pytest.mark.browser
@pytest.mark.django_db
def test_card_html_export_opened_from_disk_loads_no_external_image(tmp_path):
    import http.server
    import threading

    playwright_api = pytest.importorskip("playwright.sync_api")
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/opened.png"
        export = tmp_path / "card.html"
        export.write_text(_exported_html_with_image(url))
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                page = browser.new_page()
                page.goto(export.as_uri())
                page.wait_for_load_state("load")
                page.wait_for_timeout(500)
                broken = page.evaluate("[...document.images].filter(i => i.src.startsWith('http')).length")
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert broken == 0  # the remote image lost its src in the sanitiser ...
    assert requests == []  # ... and nothing was fetched
