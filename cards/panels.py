"""The model card on the mirror's pages (`mirror.slots`), registered in cards' AppConfig.ready(): the panel of
the version page (completeness, what is missing, the edit and export links) and the completeness meters of
the model page's versions (one query for the page)."""

from __future__ import annotations

from django.template.loader import render_to_string

from cards import access, exports, selectors
from cards.sections import LABELS
from mirror.slots import Column, Panel


def version_card(request, *, mv, **_) -> Panel | None:
    if mv is None:
        return None
    status = selectors.card_status(mv)
    user = getattr(request, "user", None)
    card = {
        **status,
        "percent": round(100 * status["score"]) if status["score"] is not None else None,
        "missing_labels": [LABELS.get(m, m) for m in status["missing"]],
        "can_edit": bool(user) and access.can_edit_cards(user),
        "formats": list(exports.FORMATS),
    }
    return Panel("cards/_version_panel.html", {"card": card})


def meter(scores: dict, mv, show_label: bool = True) -> dict:
    """The context of `cards/_meter.html` for a version, from `selectors.scores_for_versions`."""
    row = (scores or {}).get(mv.pk) if mv is not None else None
    percent = round(100 * row["score"]) if row else None
    return {
        "percent": percent,
        "revision": row["revision"] if row else None,
        "mv": mv,
        "show_label": show_label,
    }


def version_meters(request, *, rows, **_) -> Column | None:
    """The "Card" column of the model page's versions: each version's completeness meter."""
    if not rows:
        return None
    versions = [row[0] for row in rows]
    scores = selectors.scores_for_versions(versions)
    return Column(
        "Card", {mv.pk: render_to_string("cards/_meter.html", meter(scores, mv)) for mv in versions}
    )
