"""Card exports for auditors: Markdown, standalone HTML (styled, print-ready, no JavaScript), PDF (WeasyPrint)
and JSON (Model Card Toolkit schema v0.0.2). Each carries the card revision, its content hash, the version's
artifact content hash and the version's sign-offs and gate results (from `selectors.signoffs_and_gates`).
"""

from __future__ import annotations

import base64
import json
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from audit.checkpoints import latest_public as latest_checkpoint
from cards import charts, selectors
from cards.models import CardRevision
from cards.rendering import front_matter_rows, split_front_matter, strip_markers
from cards.sections import meaningful_text, split_sections
from common.errors import InvalidInput

FORMATS = {
    "md": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
    "pdf": ("application/pdf", "pdf"),
    "json": ("application/json", "json"),
}
MCT_SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "model_card.schema.json"
EXPORT_CSS_PATH = Path(__file__).resolve().parent / "export.css"
# The standalone HTML export embeds its stylesheet and images; it is served with this policy of its own, and
# carries it in a <meta> too, so a copy opened from disk (no header) still loads no remote image.
EXPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
)


@dataclass
class ExportFile:
    content: bytes
    content_type: str
    filename: str


def check_format(fmt: str | None) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(
            f"Unknown export format {fmt!r}; the formats are: {', '.join(FORMATS)}.",
            formats=list(FORMATS),
        )
    return fmt


def _iso(dt) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def export_record(mv, rev: CardRevision) -> dict:
    """What every export states about itself, plus the sign-offs and gate results."""
    return {
        "model": mv.model.name,
        "version": mv.version,
        "card_revision": rev.revision,
        "card_content_hash": rev.content_hash,
        "card_updated_by": rev.author,
        "card_updated_at": _iso(rev.created_at),
        "version_content_hash": mv.content_hash,
        "version_semver": mv.semver,
        "completeness": {"score": rev.score, "missing": list(rev.missing)},
        "exported_at": _iso(timezone.now()),
        "promotions": selectors.signoffs_and_gates(mv),
        # The audit chain's latest signed checkpoint (kept outside the database): ties this export to a chain
        # state an auditor can check with the key.
        "audit_checkpoint": latest_checkpoint(),
    }


def filename(mv, rev: CardRevision, ext: str) -> str:
    return f"{slugify(mv.model.name) or 'model'}-v{mv.version}-card-r{rev.revision}.{ext}"


# --- Markdown ------------------------------------------------------------------------------------------
def _md_cell(value) -> str:
    text = "—" if value in (None, "") else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def split_signatures(approvals: list[dict]) -> tuple[list[dict], list[dict]]:
    """(signatures that count, superseded ones): a superseded signature no longer counts toward the quorum, and
    every export lists it apart, with why (`counts` False / `superseded_at` set in the sign-off records)."""
    counting, superseded = [], []
    for a in approvals:
        (superseded if a.get("counts") is False or a.get("superseded_at") else counting).append(a)
    return counting, superseded


def signoffs_markdown(record: dict) -> str:
    lines = ["## Sign-offs and gate results", ""]
    if not record["promotions"]:
        lines.append("_No promotion of this version has been requested._")
    for p in record["promotions"]:
        lines += [
            f"### {p.get('kind', 'promote').capitalize()} to {p.get('target')} — {p.get('state')}",
            "",
            f"Requested by {_md_cell(p.get('requested_by'))} at {_md_cell(p.get('requested_at'))}; "
            f"applied at {_md_cell(p.get('applied_at'))}.",
            "",
        ]
        counting, superseded = split_signatures(p.get("approvals") or [])
        if counting:
            lines += ["Signatures that count:", "",
                      "| Signer | Printed name | Decision | Meaning | Signed at (UTC) | Comment |",
                      "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
            for a in counting:
                lines.append(
                    "| " + " | ".join(_md_cell(a.get(k)) for k in
                                      ("reviewer", "printed_name", "decision", "meaning", "signed_at", "comment")) + " |"
                )  # fmt: skip
            lines.append("")
        if superseded:
            lines += [f"Superseded signatures ({len(superseded)}): they no longer count toward the quorum.", "",
                      "| Signer | Printed name | Decision | Meaning | Signed at (UTC) | Superseded at (UTC) | Reason |",
                      "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
            for a in superseded:
                lines.append(
                    "| " + " | ".join(_md_cell(a.get(k)) for k in
                                      ("reviewer", "printed_name", "decision", "meaning", "signed_at",
                                       "superseded_at", "superseded_reason")) + " |"
                )  # fmt: skip
            lines.append("")
        if p.get("gates"):
            lines += ["| Gate | Status | Observed | Expected | Detail |", "| --- | --- | --- | --- | --- |"]
            for g in p["gates"]:
                lines.append(
                    "| "
                    + " | ".join(
                        _md_cell(g.get(k)) for k in ("name", "status", "observed", "expected", "detail")
                    )
                    + " |"
                )
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _checkpoint_text(checkpoint: dict | None) -> str:
    if not checkpoint:
        return "none yet"
    return (
        f"seq {checkpoint['seq']}, head {checkpoint['head']}, signed {checkpoint['at']} "
        f"(key {checkpoint['key_id']}, signature {checkpoint['signature']})"
    )


def export_markdown(mv, rev: CardRevision, record: dict) -> bytes:
    rows = [
        ("Model", record["model"]),
        ("Version", record["version"]),
        ("Card revision", record["card_revision"]),
        ("Card content hash", record["card_content_hash"]),
        ("Version content hash", record["version_content_hash"] or "not computed"),
        ("Semantic version", record["version_semver"] or "not computed"),
        ("Last edited by", f"{record['card_updated_by']} at {record['card_updated_at']}"),
        ("Completeness", f"{round(100 * rev.score)} %"),
        ("Exported at", record["exported_at"]),
        ("Audit checkpoint", _checkpoint_text(record["audit_checkpoint"])),
    ]
    tail = ["", "---", "", "## Export record", "", "| Field | Value |", "| --- | --- |"]
    tail += [f"| {k} | {_md_cell(v)} |" for k, v in rows]
    text = rev.markdown.rstrip("\n") + "\n" + "\n".join(tail) + "\n\n" + signoffs_markdown(record)
    return text.encode("utf-8")


# --- HTML / PDF ------------------------------------------------------------------------------------------
def export_html(
    mv, rev: CardRevision, record: dict, *, facts: dict | None = None, lineage_svg: str | None = None
) -> str:
    facts = facts if facts is not None else selectors.version_facts(mv)
    images = [(name, "data:image/png;base64," + png) for name, png in charts.charts_for_version(mv, facts)]
    svg = selectors.lineage_image(mv) if lineage_svg is None else lineage_svg
    return render_to_string(
        "cards/export.html",
        {
            "mv": mv,
            "model": mv.model,
            "rev": rev,
            "record": record,
            # Each promotion's signatures split: those that count, and the superseded ones (listed apart).
            "promotions": [
                dict(p, counting=c, superseded=s)
                for p in record["promotions"]
                for c, s in [split_signatures(p.get("approvals") or [])]
            ],
            "card_html": rev.html,
            "front_rows": front_matter_rows(rev.front_matter or {}),
            "charts": images,
            # An image, not inline markup: the export's CSP allows data: images only, and an <img> SVG runs nothing.
            "lineage_src": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
            if svg
            else "",
            "css": EXPORT_CSS_PATH.read_text(),
            "csp": EXPORT_CSP,
            "score_percent": round(100 * rev.score),
        },
    )


def _static_roots() -> list[Path]:
    roots = [Path(p).resolve() for p in settings.STATICFILES_DIRS]
    roots.append(Path(settings.STATIC_ROOT).resolve())
    return roots


def local_only_url_fetcher():
    """A WeasyPrint fetcher that serves `data:` URLs and files under the static directories, and refuses every
    other URL before any socket is opened (a card may link http://169.254.169.254/ — no request is made)."""
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(urlparse(url).path)).resolve()
                if any(path.is_relative_to(root) for root in _static_roots()) and path.is_file():
                    return super().fetch(url, headers)
            raise ValueError(f"card exports fetch only local static files, not {url[:200]!r}")

    return LocalOnlyFetcher(allowed_protocols=("data", "file"), allow_redirects=False, timeout=1)


def export_pdf(
    mv, rev: CardRevision, record: dict, *, facts: dict | None = None, html: str | None = None
) -> bytes:
    """The standalone HTML export printed by WeasyPrint (pass `html` when it is already built)."""
    from weasyprint import HTML  # heavy import; only PDF exports need it

    if html is None:
        html = export_html(mv, rev, record, facts=facts)
    return HTML(string=html, url_fetcher=local_only_url_fetcher(), base_url=None).write_pdf(
        font_config=_font_config()
    )


_fonts = threading.local()


def _font_config():
    """One FontConfiguration per thread, reused across exports: building it again for every PDF costs about
    a third of a typical card's PDF time. Per thread because Celery may run tasks in threads."""
    from weasyprint.text.fonts import FontConfiguration

    if getattr(_fonts, "config", None) is None:
        _fonts.config = FontConfiguration()
    return _fonts.config


# --- JSON (Model Card Toolkit) -----------------------------------------------------------------------------
def _plain(text: str) -> str:
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _human_sections(markdown: str) -> dict[str, str]:
    try:
        _, body, _ = split_front_matter(markdown)
    except ValueError:
        body = markdown
    out: dict[str, str] = {}
    for s in split_sections(body)[1]:
        if s.key and s.key not in out:
            text = meaningful_text(s.body, s.key)
            if text:
                out[s.key] = _plain(text)
    return out


def _is_uri(text: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$", text or ""))


def export_json_document(mv, rev: CardRevision, record: dict, *, facts: dict | None = None) -> dict:
    facts = facts if facts is not None else selectors.version_facts(mv)
    human = _human_sections(rev.markdown)
    run = facts.get("run") or {}
    front = rev.front_matter or {}
    v = facts["version"]
    details: dict = {
        "name": mv.model.name,
        "overview": (
            v.get("description")
            or facts["model"].get("description")
            or f"{mv.model.name} version {mv.version}"
        ),
        "documentation": _plain(strip_markers(_body_or_text(rev.markdown))),
        "owners": [{"name": v["creator"]}] if v.get("creator") else [],
        "version": {"name": str(mv.version)},
        "references": [],
        "citations": [],
        "governance": record,  # this app's extension: revision, hashes, sign-offs, gate results
    }
    if mv.creation_timestamp:
        details["version"]["date"] = mv.creation_timestamp.date().isoformat()
    if isinstance(front.get("license"), str):
        details["licenses"] = [{"identifier": front["license"]}]
    mlflow_ui = (settings.MLFLOW_UI_URL or "").rstrip("/")
    if _is_uri(mlflow_ui):
        details["references"].append(
            {"reference": f"{mlflow_ui}/#/models/{mv.model.name}/versions/{mv.version}"}
        )
    data = []
    for d in run.get("datasets") or []:
        entry = {"name": str(d.get("name") or d.get("digest") or "dataset")}
        parts = [f"{k}: {d.get(k)}" for k in ("context", "digest", "source_type", "source") if d.get(k)]
        if parts:
            entry["description"] = "; ".join(parts)
        data.append(entry)
    sig = v.get("signature") or {}
    params = {
        "model_architecture": ", ".join(v.get("flavors") or []) or "unknown",
        "data": data,
    }
    if sig:
        params["input_format"] = json.dumps(sig.get("inputs") or [], sort_keys=True)
        params["output_format"] = json.dumps(sig.get("outputs") or [], sort_keys=True)
    metrics = [
        {"type": k, "value": float(val)}
        for k, val in sorted((run.get("metrics") or {}).items())
        if isinstance(val, int | float) and math.isfinite(val)
    ]
    considerations: dict = {}
    if "intended_use" in human:
        considerations["use_cases"] = [{"description": human["intended_use"]}]
    limitations = []
    if "out_of_scope_uses" in human:
        limitations.append({"description": "Out-of-scope uses: " + human["out_of_scope_uses"]})
    if "caveats_and_recommendations" in human:
        limitations.append({"description": human["caveats_and_recommendations"]})
    if limitations:
        considerations["limitations"] = limitations
    if "factors" in human:
        considerations["tradeoffs"] = [{"description": "Factors: " + human["factors"]}]
    if "ethical_considerations" in human:
        considerations["ethical_considerations"] = [{"name": human["ethical_considerations"]}]
    return {
        "schema_version": "0.0.2",
        "model_details": details,
        "model_parameters": params,
        "quantitative_analysis": {
            "performance_metrics": metrics,
            "graphics": {
                "description": "Metrics of the version's source run (static images).",
                "collection": [
                    {"name": name, "image": png} for name, png in charts.charts_for_version(mv, facts)
                ],
            },
        },
        "considerations": considerations,
    }


def _body_or_text(markdown: str) -> str:
    try:
        return split_front_matter(markdown)[1]
    except ValueError:
        return markdown


# --- entry point -------------------------------------------------------------------------------------------------
def export_card(mv, rev: CardRevision, fmt: str) -> ExportFile:
    check_format(fmt)
    record = export_record(mv, rev)
    content_type, ext = FORMATS[fmt]
    if fmt == "md":
        content = export_markdown(mv, rev, record)
    elif fmt == "html":
        content = export_html(mv, rev, record).encode("utf-8")
    elif fmt == "pdf":
        content = export_pdf(mv, rev, record)
    else:
        doc = export_json_document(mv, rev, record)
        content = json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")
    return ExportFile(content=content, content_type=content_type, filename=filename(mv, rev, ext))
