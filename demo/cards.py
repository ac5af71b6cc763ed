"""Demo model cards for the README's "Try it" story, written through the card service as demo users' revisions.

A drafted card holds only what the mirror knows (33 % complete); the `model_card_complete` gate of the demo
policy wants 100 %. So that a newcomer can finish a production promotion with one visible edit, the demo
writes the human sections of the credit model's cards the way their authors would have: the production
holder's card in full, the candidate's card in full except "Caveats and recommendations", which the story
fills in. Each card is one revision by the version's MLflow author with a comment saying the demo seed wrote
it (the audit chain records it as `card.revised`). A card that anyone has written on is never touched again
(the `system` revisions that refresh generated sections do not count).
"""

from __future__ import annotations

from collections.abc import Callable

from cards import services
from cards.models import CardRevision
from cards.rendering import split_front_matter
from cards.sections import HUMAN_SECTIONS, split_sections
from common.errors import PreconditionFailed
from demo.catalog import TRY_IT_CANDIDATE, TRY_IT_HOLDER, TRY_IT_MODEL
from mirror.models import ModelVersion

COMMENT = "Written by the demo seed (seed_demo_cards) for the README's Try-it story"

# The section the newcomer writes in the story (left as the template's placeholder on the candidate's card).
LEFT_FOR_THE_STORY = "caveats_and_recommendations"

CREDIT_SECTIONS: dict[str, str] = {
    "intended_use": (
        "Ranks loan applications by their likelihood of default, to route the riskiest to a human underwriter. "
        "Intended users: the credit-risk team and the underwriting queue. The score informs a person; it does "
        "not decide an application on its own."
    ),
    "out_of_scope_uses": (
        "- Automated rejection of an application without human review.\n"
        "- Pricing or limit setting.\n"
        "- Any population outside the bank's retail lending book (the training data does not represent it)."
    ),
    "evaluation_data": (
        "The held-out 20 % test split (114 rows, stratified on the label, `random_state=42`), never seen in "
        "training or model selection; a further 25 % of the remainder served as the validation split for the "
        "loss curves. Demo stand-in: scikit-learn's breast-cancer data set."
    ),
    "factors": (
        "Performance may vary with the applicant's income band and region and with the channel the application "
        "came through. The demo data carries none of these, so none was evaluated: a real deployment must "
        "report the metrics per group before production."
    ),
    "ethical_considerations": (
        "Credit decisions affect people's access to money. No protected attribute is an input; proxies (e.g. "
        "postcode) must be checked before adding features. Every flagged application is reviewed by a person, "
        "and applicants can ask for the reasons of a decision."
    ),
    "caveats_and_recommendations": (
        "Re-validate monthly against the latest labelled outcomes; retrain when test_f1 on the newest quarter "
        "drops below 0.95. The threshold of 0.5 is a default, not a business decision."
    ),
}


def fill_sections(markdown: str, texts: dict[str, str]) -> str:
    """The card with the body of each level-2 section whose key is in `texts` replaced by that text (a human
    section's placeholder when the text is None). Other sections, generated blocks and front matter untouched."""
    front, body, _ = split_front_matter(markdown)
    lines = body.split("\n")
    _, sections = split_sections(body)
    ends = [s.index for s in sections[1:]] + [len(lines)]
    for section, end in reversed(list(zip(sections, ends, strict=True))):
        if section.key not in texts:
            continue
        text = texts[section.key]
        if text is None:
            text = HUMAN_SECTIONS[section.key][1]
        lines[section.index + 1 : end] = ["", *text.strip().split("\n"), ""]
    body = "\n".join(lines)
    return body if front is None else f"---\n{front}\n---\n{body}"


def _demo_version(key: str) -> ModelVersion | None:
    versions = (
        ModelVersion.objects.live().select_related("model", "source_run").filter(model__name=TRY_IT_MODEL)
    )
    return next((mv for mv in versions if mv.tags.get("demo.key") == key), None)


def _author(mv: ModelVersion) -> str:
    """Who wrote the demo run: the card's author in the story (MLflow's creator when it recorded one)."""
    return mv.creator or (mv.source_run.mlflow_user if mv.source_run else "") or "alice"


def seed_demo_cards(*, log: Callable[[str], None] = print) -> list[tuple[str, int, int]]:
    """Write the demo cards (idempotent). Returns (model, version, revision) of each card written."""
    plans = [
        (TRY_IT_HOLDER, dict(CREDIT_SECTIONS)),
        (TRY_IT_CANDIDATE, {**CREDIT_SECTIONS, LEFT_FOR_THE_STORY: None}),
    ]
    written = []
    for key, texts in plans:
        mv = _demo_version(key)
        if mv is None:
            log(f"  {TRY_IT_MODEL}: no mirrored version with demo.key={key}; sync first.")
            continue
        if CardRevision.objects.filter(version=mv).exclude(author=services.SYSTEM).exists():
            log(f"  {TRY_IT_MODEL} v{mv.version}: someone has written on this card; left alone.")
            continue
        rev = None
        for _attempt in range(5):
            current = services.ensure_card(mv=mv)
            try:
                rev = services.save_card(
                    mv=mv,
                    markdown=fill_sections(current.markdown, texts),
                    author=_author(mv),
                    base_revision=current.revision,
                    comment=COMMENT,
                )
                break
            except PreconditionFailed:  # the worker refreshed the generated sections meanwhile: write on top
                continue
        if rev is None:
            log(f"  {TRY_IT_MODEL} v{mv.version}: the card kept changing under the seed; run it again.")
            continue
        written.append((TRY_IT_MODEL, mv.version, rev.revision))
        log(
            f"  {TRY_IT_MODEL} v{mv.version}: card revision {rev.revision} by {rev.author}, "
            f"{rev.score:.0%} complete"
        )
    return written
