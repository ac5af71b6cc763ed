"""The card template's sections and a markdown section splitter. Pure: no ORM, no I/O.

A card is markdown with level-2 headings. Sections filled from the mirror keep their generated text between
`<!-- generated:start KEY -->` and `<!-- generated:end KEY -->`; regenerating replaces only what lies between
those markers, so human text around them is never touched. Human sections (Mitchell et al., 2019, "Model
Cards for Model Reporting") start as a placeholder sentence that completeness scoring recognises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# key, heading, placeholder (human sections) — in the order a drafted card shows them.
HUMAN_SECTIONS: dict[str, tuple[str, str]] = {
    "intended_use": (
        "Intended use",
        "_To be written: the primary intended uses of this model and its intended users._",
    ),
    "out_of_scope_uses": (
        "Out-of-scope uses",
        "_To be written: uses this model must not be put to, and why._",
    ),
    "evaluation_data": (
        "Evaluation data",
        "_To be written: the datasets the model was evaluated on, why they were chosen, and their preprocessing._",
    ),
    "factors": (
        "Factors",
        "_To be written: the groups, instruments and environments that may change the model's performance, "
        "and which of them were evaluated._",
    ),
    "ethical_considerations": (
        "Ethical considerations",
        "_To be written: sensitive data used, risks to people, and the mitigations in place._",
    ),
    "caveats_and_recommendations": (
        "Caveats and recommendations",
        "_To be written: known limitations, and recommendations for the people deploying or relying on the model._",
    ),
}

GENERATED_SECTIONS: dict[str, str] = {
    "model_details": "Model details",
    "training_data": "Training data",
    "metrics": "Metrics",
    "parameters": "Parameters",
    "code": "Code",
    "signature": "Signature",
    "aliases_and_stages": "Aliases and stages",
}

# Order of sections in a drafted card.
CARD_ORDER = [
    "model_details",
    "intended_use",
    "out_of_scope_uses",
    "training_data",
    "evaluation_data",
    "metrics",
    "factors",
    "parameters",
    "code",
    "signature",
    "aliases_and_stages",
    "ethical_considerations",
    "caveats_and_recommendations",
]

# What the generator writes when the mirror has nothing for a section: counts as missing.
EMPTY_SENTINELS = {
    "training_data": "_No dataset was logged with the source run._",
    "metrics": "_No metrics were logged with the source run._",
}

LABELS = {**{k: h for k, (h, _) in HUMAN_SECTIONS.items()}, **GENERATED_SECTIONS}

# Other spellings people use for the same headings.
_SYNONYMS = {
    "intendeduses": "intended_use",
    "intendeduse": "intended_use",
    "outofscopeuse": "out_of_scope_uses",
    "outofscopeuses": "out_of_scope_uses",
    "evaluationdata": "evaluation_data",
    "factors": "factors",
    "relevantfactors": "factors",
    "ethicalconsiderations": "ethical_considerations",
    "caveatsandrecommendations": "caveats_and_recommendations",
    "caveats": "caveats_and_recommendations",
    "trainingdata": "training_data",
    "metrics": "metrics",
    "quantitativeanalysis": "metrics",
    "quantitativeanalyses": "metrics",
    "modeldetails": "model_details",
    "parameters": "parameters",
    "code": "code",
    "signature": "signature",
    "aliasesandstages": "aliases_and_stages",
}

GEN_START = "<!-- generated:start {key} -->"
GEN_END = "<!-- generated:end {key} -->"
# A block's body stops at the next start marker: a start left open then costs the scan to the next marker,
# not to the end of the card (that made regenerating a card of open markers quadratic: 108 KB took 20 s).
GEN_BLOCK_RE = re.compile(
    r"<!--\s*generated:start\s+(?P<key>[\w-]+)\s*-->\n?"
    r"(?P<body>(?:(?!<!--\s*generated:start\b).)*?)"
    r"<!--\s*generated:end\s+(?P=key)\s*-->",
    re.S,
)
CARRIED_RE = re.compile(
    r"^[ \t]*<!--\s*carried-forward\b[^\n]*-->[ \t]*\n(?:[ \t]*\*Carried forward[^\n]*\n?)?", re.M
)
_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE_RE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")


def section_key(heading: str) -> str | None:
    norm = re.sub(r"[^a-z]", "", heading.lower())
    return _SYNONYMS.get(norm)


@dataclass
class Section:
    heading: str
    key: str | None
    body: str  # the text under the heading, up to the next heading of level ≤ 2
    index: int = 0  # line number (0-based) of the heading in the text that was split


def split_sections(body: str) -> tuple[str, list[Section]]:
    """(text before the first level-2 heading, the level-2 sections). Headings inside code fences don't count."""
    preamble: list[str] = []
    sections: list[Section] = []
    current: list[str] = preamble
    fence: str | None = None
    for index, line in enumerate(body.split("\n")):
        m = _FENCE_RE.match(line)
        if m:
            marker = m.group(1)
            if fence is None:
                fence = marker[0] * len(marker)
            elif marker.startswith(fence):
                fence = None
        elif fence is None:
            h = _HEADING_RE.match(line)
            if h and len(h.group(1)) == 2:
                current = []
                heading = h.group(2).strip()
                # body holds the section's lines until they are joined below
                sections.append(Section(heading=heading, key=section_key(heading), body=current, index=index))  # type: ignore[arg-type]
                continue
        current.append(line)
    for s in sections:
        s.body = "\n".join(s.body)
    return "\n".join(preamble), sections


def meaningful_text(section_body: str, key: str | None = None) -> str:
    """A section's text minus markers, carried-forward notes, placeholders and empty-sentinels."""
    text = CARRIED_RE.sub("", section_body)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    for _, placeholder in HUMAN_SECTIONS.values():
        text = text.replace(placeholder, "")
    for sentinel in EMPTY_SENTINELS.values():
        text = text.replace(sentinel, "")
    return text.strip()


def holds_placeholder(section_body: str) -> bool:
    return any(placeholder in section_body for _, placeholder in HUMAN_SECTIONS.values())
