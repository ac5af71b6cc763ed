"""Completeness scoring: a pure function over the card's markdown (the `model_card_complete` gate's rule)."""

import pytest

from cards.completeness import REQUIRED_ITEMS, score_card
from cards.sections import EMPTY_SENTINELS, HUMAN_SECTIONS

FULL = """---
license: mit
---
# churn — version 3

## Model details
| Field | Value |
| --- | --- |
| Model | churn |

## Intended use
Scoring churn risk for retention campaigns.

## Out-of-scope uses
Credit decisions.

## Training data
| Dataset | Digest |
| --- | --- |
| customers | abc123 |

## Evaluation data
A held-out 20 % split of 2024 customers.

## Metrics
| Metric | Value |
| --- | --- |
| f1 | 0.81 |

## Factors
Region and tenure.

## Ethical considerations
No protected attributes are used.

## Caveats and recommendations
Retrain quarterly.
"""


def replace_section(text: str, heading: str, body: str) -> str:
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    end = len(text) if end == -1 else end + 1
    return text[:start] + f"## {heading}\n{body}\n" + text[end:]


def drop_section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[:start] + (text[end + 1 :] if end != -1 else "")


def test_a_card_with_every_section_written_scores_one():
    assert score_card(FULL) == (1.0, [])


def test_the_template_placeholders_count_as_missing():
    text = FULL
    for heading, placeholder in HUMAN_SECTIONS.values():
        text = replace_section(text, heading, placeholder)
    score, missing = score_card(text)
    assert missing == [k for k in REQUIRED_ITEMS if k in HUMAN_SECTIONS]
    assert score == pytest.approx(3 / 9, abs=1e-3)


@pytest.mark.parametrize(
    ("heading", "body", "item"),
    [
        ("Intended use", "", "intended_use"),
        ("Intended use", "   \n\n  ", "intended_use"),
        (
            "Intended use",
            "Scoring. " + HUMAN_SECTIONS["intended_use"][1],
            "intended_use",
        ),  # placeholder left in
        ("Out-of-scope uses", HUMAN_SECTIONS["out_of_scope_uses"][1], "out_of_scope_uses"),
        ("Factors", "<!-- only a comment -->", "factors"),
        ("Training data", EMPTY_SENTINELS["training_data"], "training_data"),
        ("Metrics", EMPTY_SENTINELS["metrics"], "metrics"),
        (
            "Metrics",
            "<!-- generated:start metrics -->\n"
            + EMPTY_SENTINELS["metrics"]
            + "\n<!-- generated:end metrics -->",
            "metrics",
        ),
        ("Evaluation data", HUMAN_SECTIONS["evaluation_data"][1], "evaluation_data"),
        ("Ethical considerations", HUMAN_SECTIONS["ethical_considerations"][1], "ethical_considerations"),
        ("Caveats and recommendations", "", "caveats_and_recommendations"),
    ],
)
def test_an_empty_or_placeholder_section_is_missing(heading, body, item):
    score, missing = score_card(replace_section(FULL, heading, body))
    assert missing == [item]
    assert score == pytest.approx(8 / 9, abs=1e-3)


@pytest.mark.parametrize(
    ("heading", "item"),
    [
        ("Intended use", "intended_use"),
        ("Metrics", "metrics"),
        ("Training data", "training_data"),
        ("Model details", "model_details"),
    ],
)
def test_a_removed_section_is_missing(heading, item):
    assert score_card(drop_section(FULL, heading))[1] == [item]


@pytest.mark.parametrize(
    "heading",
    ["Intended uses", "INTENDED USE", "Out of scope uses", "Quantitative analyses", "Caveats"],
)
def test_common_spellings_of_headings_are_recognised(heading):
    canonical = {
        "Intended uses": "Intended use",
        "INTENDED USE": "Intended use",
        "Out of scope uses": "Out-of-scope uses",
        "Quantitative analyses": "Metrics",
        "Caveats": "Caveats and recommendations",
    }[heading]
    text = FULL.replace(f"## {canonical}\n", f"## {heading}\n")
    assert score_card(text) == (1.0, [])


def test_headings_inside_code_fences_do_not_count():
    text = drop_section(FULL, "Factors") + "\n```\n## Factors\nRegion.\n```\n"
    assert score_card(text)[1] == ["factors"]


def test_a_carried_forward_section_counts_as_written():
    body = (
        "<!-- carried-forward from-version=2 from-revision=4 -->\n*Carried forward from version 2 (card revision 4);"
        " check it still holds for this version.*\n\nScoring churn."
    )
    assert score_card(replace_section(FULL, "Intended use", body)) == (1.0, [])


def test_a_carried_forward_note_alone_is_not_content():
    body = "<!-- carried-forward from-version=2 from-revision=4 -->\n*Carried forward from version 2 (card revision 4).*\n"
    assert score_card(replace_section(FULL, "Intended use", body))[1] == ["intended_use"]


def test_the_required_items_are_configurable():
    assert score_card("## Intended use\nYes.\n", required=["intended_use"]) == (1.0, [])
    assert score_card("## Intended use\nYes.\n", required=["intended_use", "metrics"]) == (0.5, ["metrics"])
    assert score_card("anything", required=[]) == (1.0, [])


def test_an_empty_card_scores_zero():
    score, missing = score_card("")
    assert score == 0.0
    assert missing == list(REQUIRED_ITEMS)


def test_broken_front_matter_does_not_break_scoring():
    assert score_card("---\nlicense: [\n" + FULL.split("---\n", 2)[2])[0] == 1.0
