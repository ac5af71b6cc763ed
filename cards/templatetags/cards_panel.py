from django import template

from cards import access, exports, selectors
from cards.sections import LABELS

register = template.Library()


@register.simple_tag(takes_context=True)
def card_panel(context, mv) -> dict:
    status = selectors.card_status(mv)
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        **status,
        "percent": round(100 * status["score"]) if status["score"] is not None else None,
        "missing_labels": [LABELS.get(m, m) for m in status["missing"]],
        "can_edit": bool(user) and access.can_edit_cards(user),
        "formats": list(exports.FORMATS),
    }
