"""Card exports: PDF (WeasyPrint, local-only fetcher), JSON (Model Card Toolkit schema), sign-offs section."""

from __future__ import annotations

import json
import socket

import jsonschema
import pytest

from cards import exports, selectors, services
from cards.models import CardChart
from cards.sections import HUMAN_SECTIONS
from mirror.models import ModelVersion
from mirror.sync import apply_snapshot
from tests import factories as f
from tests.factories import MetricHistoryFactory
from tests.support.pdf import pdf_text

pytestmark = pytest.mark.django_db
URL = "/api/v1/models/churn/versions/1/card"


@pytest.fixture
def mv():
    runs = {"run1": f.mlflow_run("run1", metrics={"f1": 0.8, "auc": 0.9}, params={"C": "1.0"},
                                  datasets=[{"name": "customers", "digest": "d1", "source_type": "local",
                                             "source": "/data/c.csv", "context": "training"}])}  # fmt: skip
    apply_snapshot(
        f.snapshot([f.mlflow_model("churn")], [f.mlflow_version("churn", 1, run_id="run1")], runs=runs)
    )
    return ModelVersion.objects.select_related("model", "source_run").get()


def written_card(mv, extra: str = "") -> None:
    rev = services.ensure_card(mv=mv)
    md = rev.markdown
    for key, (_, placeholder) in HUMAN_SECTIONS.items():
        md = md.replace(placeholder, f"Written {key.replace('_', ' ')}.")
    services.save_card(mv=mv, markdown=md.replace("---\n", "---\nlicense: apache-2.0\n", 1) + extra,
                       author="eve", base_revision=rev.revision)  # fmt: skip


def test_pdf_export_is_a_pdf_with_the_card_headings(api, mv):
    written_card(mv)
    r = api.get(URL + "/export?format=pdf")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    text = pdf_text(r.content)
    for heading in ("Model details", "Intended use", "Out-of-scope uses", "Training data", "Evaluation data",
                    "Metrics", "Ethical considerations", "Caveats and recommendations",
                    "Sign-offs and gate results"):  # fmt: skip
        assert heading in text, heading
    rev = selectors.latest_revision(mv)
    assert rev.content_hash[:20] in text.replace("\n", "")


def test_pdf_export_of_a_card_pointing_at_a_remote_url_opens_no_socket(mv, monkeypatch):
    written_card(
        mv,
        "\n![metadata](http://169.254.169.254/latest/meta-data/iam.png)\n"
        "[link](http://169.254.169.254/latest/meta-data/)\n"
        '<img src="https://example.com/x.png"> <img src="file:///etc/passwd">\n',
    )
    rev = selectors.latest_revision(mv)
    record = exports.export_record(mv, rev)
    exports.export_html(mv, rev, record)  # warm the chart cache and imports outside the guard
    attempts = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise AssertionError(f"export opened a socket to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse(None, a))
    pdf = exports.export_pdf(mv, rev, record)
    assert pdf.startswith(b"%PDF")
    assert attempts == []


def test_the_fetcher_serves_data_urls_and_static_files_only(settings, tmp_path):
    fetcher = exports.local_only_url_fetcher()
    assert fetcher("data:text/plain;base64,aGk=").read() == b"hi"
    static_css = settings.BASE_DIR / "static" / "css" / "app.css"
    assert fetcher(static_css.as_uri()).read() == static_css.read_bytes()
    for url in ("http://169.254.169.254/", "https://example.com/x.png", "file:///etc/passwd",
                (tmp_path / "x").as_uri(), "ftp://example.com/x"):  # fmt: skip
        with pytest.raises(ValueError):
            fetcher(url)


def test_json_export_validates_against_the_model_card_toolkit_schema(api, mv):
    written_card(mv)
    r = api.get(URL + "/export?format=json")
    assert r.status_code == 200
    doc = json.loads(r.content)
    schema = json.loads(exports.MCT_SCHEMA_PATH.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(doc, schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    assert doc["schema_version"] == "0.0.2"
    assert doc["model_details"]["name"] == "churn"
    assert doc["model_details"]["licenses"] == [{"identifier": "apache-2.0"}]
    assert {m["type"] for m in doc["quantitative_analysis"]["performance_metrics"]} == {"f1", "auc"}
    assert doc["considerations"]["use_cases"][0]["description"] == "Written intended use."
    gov = doc["model_details"]["governance"]
    rev = selectors.latest_revision(mv)
    assert gov["card_revision"] == rev.revision and gov["card_content_hash"] == rev.content_hash
    assert gov["promotions"] == []


def test_json_export_of_a_bare_draft_validates_too(mv):
    rev = services.ensure_card(mv=mv)
    doc = exports.export_json_document(mv, rev, exports.export_record(mv, rev))
    jsonschema.validate(doc, json.loads(exports.MCT_SCHEMA_PATH.read_text()))


def test_exports_carry_the_signoffs_from_one_function(mv, monkeypatch):
    rev = services.ensure_card(mv=mv)
    promotion = {
        "id": 7, "kind": "promote", "target": "production", "state": "applied", "requested_by": "alice",
        "requested_at": "2026-01-02T03:04:05Z", "applied_at": "2026-01-03T00:00:00Z",
        "approvals": [{"reviewer": "carol", "printed_name": "Carol Approver", "decision": "approve",
                       "meaning": "approval", "comment": "LGTM", "signed_at": "2026-01-02T10:00:00Z",
                       "signed_hashes": {}}],
        "gates": [{"name": "model_card_complete", "status": "passed", "observed": 1.0, "expected": 1.0,
                   "detail": "", "evaluated_at": "2026-01-02T03:05:00Z"}],
    }  # fmt: skip
    calls = []
    monkeypatch.setattr(selectors, "signoffs_and_gates", lambda v: calls.append(v) or [promotion])
    md = exports.export_card(mv, rev, "md").content.decode()
    html = exports.export_card(mv, rev, "html").content.decode()
    doc = json.loads(exports.export_card(mv, rev, "json").content)
    assert len(calls) == 3
    assert "Carol Approver" in md and "model_card_complete" in md
    assert "Carol Approver" in html and "model_card_complete" in html
    assert doc["model_details"]["governance"]["promotions"][0]["approvals"][0]["reviewer"] == "carol"


def test_signoffs_come_from_the_approvals_app(mv):
    assert selectors.signoffs_and_gates(mv) == []  # no promotions yet, and no error


def test_charts_are_static_png_images_cached_per_version(mv):
    MetricHistoryFactory(
        run=mv.source_run, key="f1", steps=5, t0=0, value=lambda i: i / 10, fetched_at=mv.synced_at
    )
    rev = services.ensure_card(mv=mv)
    html = exports.export_html(mv, rev, exports.export_record(mv, rev))
    assert html.count('src="data:image/png;base64,') == 2  # the metrics bar chart and the f1 history
    assert CardChart.objects.filter(version=mv).count() == 2
    exports.export_html(mv, rev, exports.export_record(mv, rev))
    assert CardChart.objects.filter(version=mv).count() == 2  # reused, not rendered again
