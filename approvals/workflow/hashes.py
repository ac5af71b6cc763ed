"""What a signature binds: canonical hashes of the model version, its card and the gate results."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from approvals.models import GateResult, Promotion
from cards.selectors import card_status
from mirror.models import ModelVersion
from mirror.outbox import is_app_tag

BOUND_NAMES = {"version_hash": "model version", "card_hash": "model card", "gates_hash": "gate results"}


def canonical_hash(value: object) -> str:
    """sha256 of the value's canonical JSON."""
    # Through JSON and back first, so a value read from a JSON column and the same value fresh from Python
    # (tuples, float formatting) hash alike.
    normal = json.loads(json.dumps(value, default=str))
    canonical = json.dumps(normal, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def gates_hash(p: Promotion, rows: Iterable[GateResult] | None = None) -> str:
    """The hash of the gate results: the stored ones, or `rows` (fresh, unsaved GateResult objects)."""
    if rows is None:
        rows = GateResult.objects.filter(promotion=p).order_by("position")
    return canonical_hash(
        [
            {
                "name": g.name,
                "status": g.status,
                "observed": g.observed,
                "expected": g.expected,
                "detail": g.detail,
            }
            for g in rows
        ]
    )


def version_hash(mv: ModelVersion) -> str:
    """What a signature binds of the model version: its identity, artifacts and the mirror fields gates read.
    Tags this app writes itself (`semver`, `package.*`: mirror.outbox) are derived facts, left out."""
    return canonical_hash(
        {
            "model": mv.model.name,
            "version": mv.version,
            "content_hash": mv.content_hash,
            "source": mv.source,
            "run_id": mv.run_id,
            "status": mv.status,
            "tags": {k: v for k, v in (mv.tags or {}).items() if not is_app_tag(k)},
            "signature": mv.signature,
        }
    )


def card_hash(card: dict) -> str:
    """What a signature binds of the model card: its content hash."""
    return canonical_hash({"card_content_hash": card.get("content_hash")})


def binding(p: Promotion, rows: Iterable[GateResult] | None = None) -> tuple[dict, dict]:
    """The hashes a signature binds (version, card, gate results) on the current mirror, and the card status."""
    card = card_status(p.version)
    hashes = {
        "version_hash": version_hash(p.version),
        "card_hash": card_hash(card),
        "gates_hash": gates_hash(p, rows),
    }
    return hashes, card
