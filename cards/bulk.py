"""Bulk card export for auditors: one zip of card exports with an index, built by a Celery task whose job row
(`BulkExport`) carries state and progress for the page to poll."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from cards import exports, selectors, services
from cards.models import BulkExport
from common import jobs
from common.errors import InvalidInput
from mirror.models import ModelVersion, RegisteredModel

DEFAULT_FORMATS = ["pdf", "html", "md", "json"]
MAX_MODELS = 500
# cards.tasks imports this module (its task builds the zip): the task is enqueued by name (`common.queue`).
BULK_EXPORT_TASK = "registry_ui.cards.tasks.build_bulk_export_task"


def export_dir() -> Path:
    return jobs.media_dir("card_exports")


def versions_in_scope(*, model_names: list[str], alias: str) -> list[ModelVersion]:
    """Every live version of the named models, plus every version holding the alias (any model)."""
    qs = (
        ModelVersion.objects.live()
        .filter(model__deleted_at__isnull=True)
        .select_related("model", "source_run")
    )
    picked: dict[int, ModelVersion] = {}
    if model_names:
        for mv in qs.filter(model__name__in=model_names):
            picked[mv.pk] = mv
    if alias:
        holders = RegisteredModel.objects.live().filter(aliases__has_key=alias).values_list("pk", "aliases")
        pairs = [
            (pk, int(aliases[alias])) for pk, aliases in holders if str(aliases.get(alias, "")).isdigit()
        ]
        if pairs:
            cond = Q(pk__in=[])
            for model_id, version in pairs:
                cond |= Q(model_id=model_id, version=version)
            for mv in qs.filter(cond):
                picked[mv.pk] = mv
    return sorted(picked.values(), key=lambda v: (v.model.name, v.version))


def request_bulk_export(
    *, user, model_names: list[str], alias: str = "", formats: list[str] | None = None
) -> BulkExport:
    model_names = [str(n) for n in (model_names or []) if str(n).strip()]
    alias = (alias or "").strip()
    formats = list(dict.fromkeys(formats or DEFAULT_FORMATS))
    for fmt in formats:
        exports.check_format(fmt)
    if not model_names and not alias:
        raise InvalidInput("Select at least one model, or an alias.", field="models")
    if len(model_names) > MAX_MODELS:
        raise InvalidInput(f"At most {MAX_MODELS} models per export.", field="models")
    known = set(RegisteredModel.objects.live().filter(name__in=model_names).values_list("name", flat=True))
    unknown = [n for n in model_names if n not in known]
    if unknown:
        raise InvalidInput(f"Unknown model(s): {', '.join(unknown[:10])}.", field="models")
    return jobs.request(
        BulkExport,
        BULK_EXPORT_TASK,
        requested_by=user,
        models_selected=model_names,
        alias=alias,
        formats=formats,
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_zip(*, versions: list[ModelVersion], formats: list[str], out, progress=None) -> list[dict]:
    """Write the zip to the file object `out`; returns the index rows."""
    index: list[dict] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for i, mv in enumerate(versions, start=1):
            rev = services.ensure_card(mv=mv)
            record = exports.export_record(mv, rev)
            facts = selectors.version_facts(mv)
            folder = f"{slugify(mv.model.name) or 'model'}/v{mv.version}"
            files = {}
            svg = selectors.lineage_image(mv)
            html = (
                exports.export_html(mv, rev, record, facts=facts, lineage_svg=svg)
                if {"html", "pdf"} & set(formats)
                else ""
            )
            if svg:  # the lineage graph beside the card's files (the Markdown export links no image)
                data = svg.encode("utf-8")
                zf.writestr(f"{folder}/lineage.svg", data)
                files["lineage_svg"] = {
                    "path": f"{folder}/lineage.svg",
                    "sha256": _sha256(data),
                    "bytes": len(data),
                }
            for fmt in formats:
                if fmt == "md":
                    data = exports.export_markdown(mv, rev, record)
                elif fmt == "html":
                    data = html.encode("utf-8")
                elif fmt == "pdf":
                    data = exports.export_pdf(mv, rev, record, html=html)
                else:
                    doc = exports.export_json_document(mv, rev, record, facts=facts)
                    data = json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")
                name = f"{folder}/{exports.filename(mv, rev, exports.FORMATS[fmt][1])}"
                zf.writestr(name, data)
                files[fmt] = {"path": name, "sha256": _sha256(data), "bytes": len(data)}
            index.append(
                {
                    "model": mv.model.name,
                    "version": mv.version,
                    "aliases": list(mv.aliases or []),
                    "card_revision": rev.revision,
                    "card_content_hash": rev.content_hash,
                    "version_content_hash": mv.content_hash,
                    "completeness": rev.score,
                    "missing": list(rev.missing),
                    "promotions": len(record["promotions"]),
                    "files": files,
                }
            )
            if progress:
                progress(i)
        zf.writestr("index.json", json.dumps(index, indent=2, ensure_ascii=False))
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["model", "version", "aliases", "card_revision", "card_content_hash", "version_content_hash",
                         "completeness", "missing", "files"])  # fmt: skip
        for row in index:
            writer.writerow([row["model"], row["version"], " ".join(row["aliases"]), row["card_revision"],
                             row["card_content_hash"], row["version_content_hash"] or "", row["completeness"],
                             " ".join(row["missing"]), " ".join(f["path"] for f in row["files"].values())])  # fmt: skip
        zf.writestr("index.csv", buf.getvalue())
        zf.writestr("index.html", render_to_string("cards/export_index.html", {"rows": index, "formats": formats,
                                                                                 "at": timezone.now()}))  # fmt: skip
    return index


def run_bulk_export(*, job_id: int) -> None:
    """The Celery task's body (the shared job runner): one step per version."""
    jobs.run(
        BulkExport,
        job_id,
        path=lambda job: export_dir() / f"card-export-{job.pk}.zip",
        plan=lambda job: versions_in_scope(model_names=job.models_selected, alias=job.alias),
        write=lambda job, versions, out, progress: build_zip(
            versions=versions, formats=job.formats, out=out, progress=progress
        ),
        what="bulk card export",
    )
