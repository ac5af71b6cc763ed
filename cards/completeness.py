"""Card completeness: which required items a card holds. Pure — the `model_card_complete` gate's rule.

An item is present when its section exists and holds text of its own: not empty, not the template's
placeholder (a section still holding it counts as missing even with text added around it), not the
generator's "nothing was logged" sentence. So "metrics present" needs a metrics table or text, "training
data named" needs a dataset or data tag, "intended use written" needs a human to write it.
"""

from __future__ import annotations

from collections.abc import Sequence

from cards.rendering import FrontMatterError, split_front_matter
from cards.sections import CARD_ORDER, holds_placeholder, meaningful_text, split_sections

# Every section of a drafted card but the four the generator alone fills from the mirror's facts.
GENERATED_ONLY = frozenset({"parameters", "code", "signature", "aliases_and_stages"})
REQUIRED_ITEMS: tuple[str, ...] = tuple(s for s in CARD_ORDER if s not in GENERATED_ONLY)


def score_card(markdown: str, *, required: Sequence[str] = REQUIRED_ITEMS) -> tuple[float, list[str]]:
    """(score in [0, 1], names of the missing items in `required` order)."""
    try:
        _, body, _ = split_front_matter(markdown)
    except FrontMatterError:
        body = markdown
    _, sections = split_sections(body)
    present: set[str] = set()
    for section in sections:
        if section.key is None or section.key in present:
            continue
        if not holds_placeholder(section.body) and meaningful_text(section.body, section.key):
            present.add(section.key)
    missing = [item for item in required if item not in present]
    if not required:
        return 1.0, []
    return round((len(required) - len(missing)) / len(required), 4), missing
