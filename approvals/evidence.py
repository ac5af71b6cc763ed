"""Evidence packs for auditors: one zip per target (API.md "Model cards": `GET /api/v1/evidence/?target=`).

The pack holds every version that has held the target (from the target history this app keeps) and every
version MLflow shows holding it now (so a holder that arrived by drift is not hidden), each with its card
export, its promotions with signatures and gate results, plus the whole audit chain, its verification and the
latest signed checkpoint of the chain.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import dataclass

from django.utils import timezone

from approvals.models import TargetHolding
from approvals.policy import get_policy
from approvals.selectors import signoffs_for_version
from audit.checkpoints import latest_public as latest_checkpoint
from audit.services import record
from audit.verification import export_lines, verify
from cards.exports import export_card
from cards.services import ensure_card
from common.errors import InvalidInput
from mirror import holders
from mirror.models import ModelVersion, RegisteredModel

EVIDENCE_FORMATS = ("md", "html", "json", "pdf")
DEFAULT_FORMATS = ("md", "html", "json")


@dataclass
class EvidenceVersion:
    mv: ModelVersion
    holds_now: bool
    holdings: list[dict]


def parse_formats(raw: str | None) -> list[str]:
    if not raw:
        return list(DEFAULT_FORMATS)
    formats = [f.strip() for f in raw.split(",") if f.strip()]
    bad = [f for f in formats if f not in EVIDENCE_FORMATS]
    if bad or not formats:
        raise InvalidInput(
            f"Unknown card format {', '.join(bad) or raw!r}; choose from {', '.join(EVIDENCE_FORMATS)}.",
            field="formats",
        )
    return list(dict.fromkeys(formats))


def _current_holders(target: str) -> set[tuple[str, int]]:
    """(model, version) holding the target in the mirror now, per each model's effective policy (the one holder
    answer, mirror.holders: the alias's version, or the highest version in the stage)."""
    policy = get_policy()
    pairs = []
    for model in RegisteredModel.objects.live().only("pk", "name", "aliases"):
        spec = policy.targets_for(model.name).get(target)
        if spec is not None:
            pairs.append((model, spec.mlflow()))
    found = holders.holders(pairs)
    return {(m.name, v) for m, t in pairs if (v := found[holders.key(m, t)]) is not None}


def versions_for_target(target: str) -> list[EvidenceVersion]:
    if not target:
        raise InvalidInput("target is required, e.g. ?target=production.", field="target")
    policy = get_policy()
    known = any(
        target in policy.targets_for(m.name) for m in RegisteredModel.objects.live().only("name")
    ) or (target in policy.targets)
    if not known:
        raise InvalidInput(
            f"Unknown target {target!r}; the policy defines {', '.join(policy.targets)}.", field="target"
        )
    current = _current_holders(target)
    holdings: dict[tuple[str, int], list[dict]] = {}
    rows = TargetHolding.objects.filter(target=target).select_related("model", "adopted_by")
    for h in rows.order_by("held_from", "id"):
        holdings.setdefault((h.model.name, h.version), []).append(
            {
                "from": h.held_from.isoformat(),
                "to": h.held_to.isoformat() if h.held_to else None,
                "promotion_id": h.promotion_id,
                # How the holder came to hold the target: an applied promotion, observed in MLflow before the
                # app governed it, or drift; and who adopted an observed holder, when.
                "source": h.source,
                "adopted_by": h.adopted_by.get_username() if h.adopted_by else None,
                "adopted_at": h.adopted_at.isoformat() if h.adopted_at else None,
            }
        )
    keys = set(current) | set(holdings)
    # Versions deleted in MLflow stay in the pack: the record of what held the target must not shrink.
    rows = {
        (mv.model.name, mv.version): mv
        for mv in ModelVersion.objects.select_related("model", "source_run").filter(
            model__name__in={name for name, _ in keys}
        )
        if (mv.model.name, mv.version) in keys
    }
    return [
        EvidenceVersion(mv=rows[key], holds_now=key in current, holdings=holdings.get(key, []))
        for key in sorted(rows)
    ]


def build_evidence_pack(*, target: str, formats: list[str], actor: str):
    """Write the pack to a temporary file and return it (positioned at 0) with its file name."""
    versions = versions_for_target(target)
    out = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
    generated_at = write_evidence_pack(
        out=out, versions=versions, target=target, formats=formats, actor=actor
    )
    out.seek(0)
    return out, pack_filename(target, generated_at)


def pack_filename(target: str, generated_at) -> str:
    return f"evidence-{target}-{generated_at:%Y%m%dT%H%M%SZ}.zip"


def write_evidence_pack(
    *, out, versions: list[EvidenceVersion], target: str, formats: list[str], actor: str, progress=None
):
    """Write the zip to the file object `out`; `progress(n)` after each version. Returns the generation time."""
    generated_at = timezone.now()
    index_versions = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for item in versions:
            mv = item.mv
            folder = f"{mv.model.name}/v{mv.version}"
            revision = ensure_card(mv=mv)
            files = []
            for fmt in formats:
                exported = export_card(mv, revision, fmt)
                zf.writestr(f"{folder}/{exported.filename}", exported.content)
                files.append(f"{folder}/{exported.filename}")
            promotions = signoffs_for_version(mv)
            zf.writestr(f"{folder}/promotions.json", json.dumps(promotions, indent=2, ensure_ascii=False))
            index_versions.append(
                {
                    "model": mv.model.name,
                    "version": mv.version,
                    "holds_target_now": item.holds_now,
                    "held": item.holdings,
                    "deleted_in_mlflow": mv.deleted_at is not None,
                    "content_hash": mv.content_hash,
                    "card_revision": revision.revision,
                    "card_content_hash": revision.content_hash,
                    "promotions": len(promotions),
                    "files": [*files, f"{folder}/promotions.json"],
                }
            )
            if progress:
                progress(len(index_versions))
        # Record the export before reading the chain, so the pack's chain includes its own export event.
        record(
            actor=actor,
            action="evidence.exported",
            object_type="target",
            object_id=target,
            data={"versions": [f"{v['model']}/{v['version']}" for v in index_versions], "formats": formats},
        )
        with zf.open("audit/chain.jsonl", "w") as chain:
            for line in export_lines():
                chain.write(line.encode("utf-8"))
        verification = verify()
        zf.writestr("audit/verification.json", json.dumps(verification.as_dict(), indent=2))
        # The latest signed checkpoint (written outside the database): whoever holds the audit key can check
        # that the chain in this pack extends it unchanged.
        checkpoint = latest_checkpoint()
        zf.writestr("audit/checkpoint.json", json.dumps(checkpoint, indent=2))
        index = {
            "target": target,
            "generated_at": generated_at.isoformat(),
            "generated_by": actor,
            "formats": formats,
            "versions": index_versions,
            "audit": {**verification.as_dict(), "file": "audit/chain.jsonl", "checkpoint": checkpoint},
        }
        zf.writestr("index.json", json.dumps(index, indent=2, ensure_ascii=False))
    return generated_at
