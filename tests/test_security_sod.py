"""Trust holes: segregation of duties on identities MLflow fixed at creation (not on re-taggable tags), a
webhook delivery marked seen only once stored, private embedded state files, and a card export that loads
nothing from outside when opened from disk."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.db import connection

from registry_ui.models import SyncRun, WebhookDelivery
from registry_ui.webhooks import sign

WEBHOOK_SECRET = "sod-test-secret"


# --- webhook: a delivery is seen only when it was stored ------------------------------------------------
def _deliver(client, body: bytes, *, delivery_id: str):
    timestamp = str(int(time.time()))
    return client.post(
        "/webhooks/mlflow/",
        data=body,
        content_type="application/json",
        HTTP_X_MLFLOW_DELIVERY_ID=delivery_id,
        HTTP_X_MLFLOW_TIMESTAMP=timestamp,
        HTTP_X_MLFLOW_SIGNATURE=sign(WEBHOOK_SECRET, delivery_id, timestamp, body),
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "unstorable",
    [b'{"score": NaN}', b'{"score": Infinity}', b'{"score": -Infinity}', b'{"note": "a\\u0000b"}'],
    ids=["nan", "inf", "-inf", "nul"],
)
def test_webhook_body_with_nan_is_not_marked_seen_and_its_retry_is_processed(client, settings, unstorable):
    settings.MLFLOW_WEBHOOK_SECRET = WEBHOOK_SECRET
    if b"u0000" in unstorable and connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL's jsonb refuses \\u0000; SQLite stores it (then the id is seen)")
    delivery_id = str(uuid.uuid4())
    bad = (
        b'{"entity": "model_version", "action": "created", "data": {"name": "churn", "version": "3",'
        b' "tags": ' + unstorable + b"}}"
    )
    first = _deliver(client, bad, delivery_id=delivery_id)
    assert first.status_code == 400, first.content
    assert first.json().get("status") != "duplicate"
    assert not WebhookDelivery.objects.filter(delivery_id=delivery_id).exists()
    assert not SyncRun.objects.exists()

    good = json.dumps(
        {"entity": "model_version", "action": "created", "data": {"name": "churn", "version": "3"}}
    ).encode()
    retry = _deliver(client, good, delivery_id=delivery_id)
    assert retry.status_code == 200, retry.content
    assert retry.json() == {"status": "accepted", "delivery_id": delivery_id}
    delivery = WebhookDelivery.objects.get(delivery_id=delivery_id)
    assert delivery.sync_run is not None and delivery.sync_run.model_name == "churn"


# --- embedded state: owner-only files in an owner-only directory ----------------------------------------
EMBEDDED_PROBE = """
import json, os, stat, sys
import django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:  # WAL mode (settings): the -wal and -shm files exist while open
    cursor.execute("CREATE TABLE probe (x integer)")
    cursor.execute("INSERT INTO probe VALUES (1)")
from registry_ui.celery import app
with app.connection_for_write() as broker:
    broker.SimpleQueue("probe").put({"x": 1})  # kombu's SQLAlchemy transport writes the broker file
var = settings.VAR_DIR
modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [var, *var.iterdir()] if not p.is_dir() or p == var}
json.dump(modes, sys.stdout)
"""


def test_embedded_database_and_broker_files_are_owner_only(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG")}
    env.update(VAR_DIR=str(tmp_path / "var"), STATIC_ROOT=str(tmp_path / "static"))
    env["DJANGO_SETTINGS_MODULE"] = "registry_ui.settings"
    result = subprocess.run(
        [sys.executable, "-c", EMBEDDED_PROBE],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # the usual umask: files 0644, directories 0755
    )
    assert result.returncode == 0, result.stderr[-3000:]
    modes = json.loads(result.stdout)
    assert modes.pop("var") == 0o700
    assert {"registry.sqlite3", "registry.sqlite3-wal", "celery-broker.sqlite3"} <= set(modes), modes
    assert {name: oct(mode) for name, mode in modes.items() if mode != 0o600} == {}


# --- card export: the standalone HTML loads nothing from outside when opened from disk --------------------
def _card_version():
    from registry_ui.cards import services
    from registry_ui.models import ModelVersion
    from registry_ui.sync import apply_snapshot
    from tests import factories as f

    apply_snapshot(f.snapshot([f.mlflow_model("churn")], [f.mlflow_version("churn", 1, run_id="run1")]))
    mv = ModelVersion.objects.select_related("model", "source_run").get()
    return mv, services.ensure_card(mv=mv)


def _exported_html_with_image(url: str) -> str:
    from registry_ui.cards import exports, selectors, services

    mv, rev = _card_version()
    services.save_card(
        mv=mv, markdown=rev.markdown + f"\n![tracker]({url})\n", author="eve", base_revision=rev.revision
    )
    rev = selectors.latest_revision(mv)
    html = exports.export_html(mv, rev, {"exported_at": "now"})
    assert f'src="{url}"' in html  # the sanitiser keeps remote images: only the CSP stops them loading
    return html


@pytest.mark.django_db
def test_card_html_export_carries_its_csp_in_the_document():
    from html.parser import HTMLParser

    from registry_ui.cards import exports

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
        def do_GET(self):  # noqa: N802
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
    assert broken == 1  # the image is in the document ...
    assert requests == []  # ... and was never fetched
