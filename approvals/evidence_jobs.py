"""Evidence packs built in the background for the auditors' page: a job row (`EvidencePack`) whose state and
progress the page polls, a Celery task that writes the zip (the same pack as `GET /api/v1/evidence/`), and a
preview of what a pack for a target will hold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db.models import Count

from approvals.evidence import (
    DEFAULT_FORMATS,
    EvidenceVersion,
    parse_formats,
    versions_for_target,
    write_evidence_pack,
)
from approvals.models import EvidencePack, Promotion, TargetHolding
from approvals.policy import get_policy
from approvals.workflow import queue
from audit.selectors import head
from cards.models import CardRevision
from common import jobs
from common.errors import InvalidInput


def pack_dir() -> Path:
    return jobs.media_dir("evidence")


def target_names() -> list[str]:
    """Targets a pack can be asked for: the policy's, plus any a version has held (a target since removed)."""
    held = TargetHolding.objects.order_by().values_list("target", flat=True).distinct()
    return sorted(set(get_policy().targets) | set(held))


@dataclass
class PreviewRow:
    item: EvidenceVersion
    promotions: int
    card_score: float | None  # None: no card yet (the pack drafts it from the mirror)


@dataclass
class Preview:
    target: str
    rows: list[PreviewRow]
    audit_events: int


def preview(target: str) -> Preview:
    """What a pack for this target will hold, read in a bounded number of queries; InvalidInput when unknown."""
    versions = versions_for_target(target)
    ids = [v.mv.pk for v in versions]
    promotions = dict(
        Promotion.objects.filter(version_id__in=ids)
        .order_by()
        .values_list("version_id")
        .annotate(n=Count("id"))
        .values_list("version_id", "n")
    )
    scores: dict[int, tuple[int, float]] = {}
    for version_id, revision, score in CardRevision.objects.filter(version_id__in=ids).values_list(
        "version_id", "revision", "score"
    ):
        if version_id not in scores or revision > scores[version_id][0]:
            scores[version_id] = (revision, score)
    last = head()
    return Preview(
        target=target,
        rows=[
            PreviewRow(
                item=v,
                promotions=promotions.get(v.mv.pk, 0),
                card_score=scores[v.mv.pk][1] if v.mv.pk in scores else None,
            )
            for v in versions
        ],
        audit_events=last.seq if last else 0,
    )


def request_evidence_pack(*, user, target: str, formats: list[str] | None = None) -> EvidencePack:
    target = (target or "").strip()
    formats = parse_formats(",".join(formats)) if formats else list(DEFAULT_FORMATS)
    if not target:
        raise InvalidInput("Choose a target.", field="target")
    versions_for_target(target)  # InvalidInput now, on the page, rather than a failed job later
    return jobs.request(
        EvidencePack, queue.BUILD_EVIDENCE_PACK_TASK, requested_by=user, target=target, formats=formats
    )


def run_evidence_pack(*, job_id: int) -> None:
    """The Celery task's body (the shared job runner): one step per version, one for the audit chain and its
    verification; the pack's sha256 is stored with it."""
    jobs.run(
        EvidencePack,
        job_id,
        path=lambda job: pack_dir() / f"evidence-{job.pk}.zip",
        plan=lambda job: versions_for_target(job.target),
        steps=lambda versions: len(versions) + 1,
        write=lambda job, versions, out, progress: write_evidence_pack(
            out=out,
            versions=versions,
            target=job.target,
            formats=job.formats,
            actor=job.requested_by.get_username(),
            progress=progress,
        ),
        finish=lambda job, written, steps: {"sha256": jobs.file_sha256(written), "done": steps},
        related=["requested_by"],
        what="evidence pack",
    )
