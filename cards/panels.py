"""The model card's panel on the mirror's version page (`mirror.slots`), registered in cards' AppConfig.ready():
the latest revision's completeness, what is missing, and the edit and export links."""

from __future__ import annotations

from cards import access, exports, selectors
from cards.sections import LABELS
from mirror.slots import Panel


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
