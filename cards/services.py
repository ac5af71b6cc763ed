"""Writes for model cards. One save = one immutable revision, audited (`card.revised`) in the same transaction."""

from __future__ import annotations

import difflib
import logging
import time

import nh3
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.html import escape

from audit.services import record
from cards import generation, selectors
from cards.completeness import score_card
from cards.models import CardRevision
from cards.rendering import (
    FrontMatterError,
    RenderError,
    content_hash,
    parse_front_matter,
    render_markdown,
    split_front_matter,
)
from common.errors import DomainError, InvalidInput, NotFound, PreconditionFailed
from mirror import hooks
from mirror.models import ModelVersion

log = logging.getLogger(__name__)

SYSTEM = "system"


class CardTooLarge(DomainError):
    status = 413


def _username(actor) -> str:
    if actor is None:
        return SYSTEM
    if isinstance(actor, str):
        return actor
    return actor.get_username()


def validate_markdown(markdown) -> dict:
    """Checks a card's text before anything is saved; returns its validated front matter."""
    if not isinstance(markdown, str):
        raise InvalidInput("markdown must be a string.", field="markdown")
    try:
        size = len(markdown.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInput("markdown is not valid UTF-8 text.", field="markdown") from None
    limit = settings.CARD_MAX_BYTES
    if size > limit:
        raise CardTooLarge(
            f"The card is {size} bytes; the limit is {limit} bytes (CARD_MAX_BYTES).", limit=limit
        )
    if "\x00" in markdown:
        raise InvalidInput("markdown must not contain NUL characters.", field="markdown")
    try:
        front, _, _ = split_front_matter(markdown)
        front_limit = settings.CARD_FRONT_MATTER_MAX_BYTES
        if front is not None and len(front.encode("utf-8")) > front_limit:
            raise InvalidInput(
                f"The front matter is {len(front.encode('utf-8'))} bytes; the limit is {front_limit} bytes "
                "(CARD_FRONT_MATTER_MAX_BYTES).",
                field="markdown",
                limit=front_limit,
            )
        return parse_front_matter(markdown)
    except FrontMatterError as exc:
        raise InvalidInput(str(exc), field="markdown", line=exc.line) from None


def render_card(markdown: str) -> str:
    """The card's sanitised HTML; InvalidInput when it cannot be rendered within the time budget."""
    started = time.monotonic()
    try:
        return render_markdown(markdown)
    except RenderError as exc:
        raise InvalidInput(str(exc), field="markdown") from None
    finally:
        elapsed = time.monotonic() - started
        if elapsed > 1.0:  # the budget `make bench-cards` holds rendering to; worth knowing when it slips
            log.warning("Rendering a %d-byte card took %.1f s", len(markdown), elapsed)


def _audit(*, actor: str, mv: ModelVersion, rev: CardRevision) -> None:
    record(
        actor=actor,
        action="card.revised",
        object_type="model_version",
        object_id=f"{mv.model.name}/{mv.version}",
        data={"revision": rev.revision, "content_hash": rev.content_hash, "comment": rev.comment,
              "score": rev.score},
    )  # fmt: skip


def _create_revision(
    *, mv: ModelVersion, markdown: str, front: dict, author: str, comment: str, html: str
) -> CardRevision:
    """Inside a transaction holding the version's row lock."""
    last = (
        CardRevision.objects.filter(version=mv)
        .order_by("-revision")
        .values_list("revision", flat=True)
        .first()
    )
    score, missing = score_card(markdown)
    rev = CardRevision.objects.create(
        version=mv,
        revision=(last or 0) + 1,
        markdown=markdown,
        content_hash=content_hash(markdown),
        html=html,
        front_matter=front,
        score=score,
        missing=missing,
        author=author,
        comment=comment[:500],
    )
    _audit(actor=author, mv=mv, rev=rev)
    return rev


def _lock(mv: ModelVersion) -> None:
    # Serialises saves of one card (and the first draft) on the version's row.
    ModelVersion.objects.select_for_update().filter(pk=mv.pk).values_list("pk", flat=True).first()


def ensure_card(*, mv: ModelVersion) -> CardRevision:
    """The latest revision, drafting revision 1 from the mirror when the version has no card yet (idempotent).
    A later version starts from the previous version's card: human sections carried forward, fresh facts."""
    rev = selectors.latest_revision(mv)
    if rev is not None:
        return rev
    try:
        with transaction.atomic():
            _lock(mv)
            rev = selectors.latest_revision(mv)
            if rev is not None:
                return rev
            facts = selectors.version_facts(mv)
            previous = selectors.previous_card(mv)
            if previous is not None:
                markdown = generation.carry_forward(
                    previous.markdown,
                    facts,
                    from_version=previous.version.version,
                    from_revision=previous.revision,
                )
                comment = f"Drafted from the mirror; human sections carried forward from version {previous.version.version}"
            else:
                markdown = generation.draft_card(facts)
                comment = "Drafted from the mirror"
            try:
                front = parse_front_matter(markdown)
            except FrontMatterError:  # a carried-forward front matter that no longer validates: keep the text
                front = {}
            try:
                html = render_markdown(markdown)
            except RenderError as exc:  # MLflow text can be hostile too: the draft is kept, shown as refused
                html = f"<p>{escape(str(exc))}</p>"
            rev = _create_revision(
                mv=mv, markdown=markdown, front=front, author=SYSTEM, comment=comment, html=html
            )
            pk = mv.pk
            transaction.on_commit(lambda: hooks.run_after_card_drafted(version_ids=[pk]))
            return rev
    except IntegrityError:  # a concurrent draft won the race
        return selectors.latest_revision(mv)


def parse_if_match(value: str | None) -> int | None:
    """ETag/If-Match as sent: `"3"`, `W/"3"` or bare `3`. None when absent; InvalidInput when unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        raise PreconditionFailed(f"If-Match {value!r} does not name a card revision.")
    return int(text)


MAX_REVISION = 2**31 - 1  # the column's range (PositiveIntegerField); past it the database query overflowed


def parse_revision_number(raw: str | None, *, field: str) -> int | None:
    """A revision number from a query string: None when absent, InvalidInput unless 1..MAX_REVISION."""
    if raw in (None, ""):
        return None
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10 or not 1 <= int(text) <= MAX_REVISION:
        raise InvalidInput(f"{field} must be a revision number (1 to {MAX_REVISION}).", field=field)
    return int(text)


def save_card(*, mv: ModelVersion, markdown, author, base_revision: int, comment: str = "") -> CardRevision:
    """A new revision on top of `base_revision`; PreconditionFailed (412) when the card moved on since."""
    front = validate_markdown(markdown)
    if not isinstance(comment, str):
        raise InvalidInput("comment must be a string.", field="comment")
    html = render_card(markdown)  # before the lock: rendering is the slow part of a save
    with transaction.atomic():
        _lock(mv)
        current = selectors.latest_revision(mv)
        current_number = current.revision if current else 0
        if base_revision != current_number:
            raise PreconditionFailed(
                f"The card is at revision {current_number}; this edit was based on revision {base_revision}.",
                current_revision=current_number,
            )
        return _create_revision(
            mv=mv, markdown=markdown, front=front, author=_username(author), comment=comment, html=html
        )


def regenerate_card(*, mv: ModelVersion, author, base_revision: int) -> CardRevision:
    """Refresh the generated sections from the mirror as a new revision; human text is never touched."""
    current = ensure_card(mv=mv)
    markdown = generation.regenerate(current.markdown, selectors.version_facts(mv))
    if markdown == current.markdown and base_revision == current.revision:
        return current
    return save_card(
        mv=mv,
        markdown=markdown,
        author=author,
        base_revision=base_revision,
        comment="Regenerated the generated sections from the mirror",
    )


def refresh_generated_sections(*, version_ids, **_) -> int:
    """after_artifacts_read hook: a card drafted before the version's artifacts were read states them as unknown;
    now that they are known, refresh the generated sections (and a missing `library_name`) as a new revision by
    `system`. Human sections are untouched; a version without a card yet is drafted later with the facts."""
    refreshed = 0
    versions = ModelVersion.objects.select_related("model", "source_run").filter(pk__in=list(version_ids))
    for mv in versions:
        for _attempt in range(3):
            current = selectors.latest_revision(mv)
            if current is None:
                break
            facts = selectors.version_facts(mv)
            markdown = generation.fill_front_matter(generation.regenerate(current.markdown, facts), facts)
            if markdown == current.markdown:
                break
            try:
                save_card(
                    mv=mv,
                    markdown=markdown,
                    author=None,
                    base_revision=current.revision,
                    comment="Regenerated the generated sections: the version's artifacts were read "
                    "(signature, flavors, content hash)",
                )
                refreshed += 1
                break
            except PreconditionFailed:  # someone saved meanwhile: refresh on top of their revision
                continue
    return refreshed


def draft_cards(*, version_ids: list[int]) -> int:
    """Draft the cards of versions new to the mirror, oldest first so each can carry the previous one forward."""
    drafted = 0
    versions = ModelVersion.objects.select_related("model", "source_run").filter(pk__in=version_ids)
    for mv in sorted(versions, key=lambda v: (v.model_id, v.version)):
        if not CardRevision.objects.filter(version=mv).exists():
            ensure_card(mv=mv)
            drafted += 1
    return drafted


# --- diffs ---------------------------------------------------------------------------------------------
_DIFF_TAGS = {"table", "colgroup", "thead", "tbody", "tr", "th", "td", "span", "a"}
_DIFF_CLASSES = {
    "table": {"diff"},
    "td": {"diff_header", "diff_next"},
    "th": {"diff_next", "diff_header"},
    "span": {"diff_add", "diff_chg", "diff_sub"},
}


def diff_table_html(from_text: str, to_text: str, *, from_label: str, to_label: str) -> str:
    """A side-by-side red-line diff (difflib), sanitised: the card text inside is escaped by difflib and
    nh3 keeps only the table markup and the diff classes."""
    table = difflib.HtmlDiff(tabsize=4, wrapcolumn=90).make_table(
        from_text.splitlines(), to_text.splitlines(), from_label, to_label, context=True, numlines=3
    )
    return nh3.clean(
        table,
        tags=_DIFF_TAGS,
        attributes={"td": {"colspan"}, "th": {"colspan"}, "a": {"href"}},
        allowed_classes=_DIFF_CLASSES,
        url_schemes=set(),
        link_rel=None,
    )


def _revision_texts(mv: ModelVersion, from_revision: int, to_revision: int) -> dict[int, str]:
    texts = dict(
        selectors.CardRevision.objects.filter(
            version=mv, revision__in=[from_revision, to_revision]
        ).values_list("revision", "markdown")
    )
    for n in (from_revision, to_revision):
        if n not in texts:
            raise NotFound(f"Card revision {n} of {mv.model.name} v{mv.version} does not exist.")
    return texts


def card_diff_unified(mv: ModelVersion, from_revision: int, to_revision: int) -> str:
    """Unified text diff (`diff -u` style, 3 lines of context) of two revisions of one version's card;
    NotFound for an unknown revision. Empty when they are the same."""
    texts = _revision_texts(mv, from_revision, to_revision)
    lines = difflib.unified_diff(
        texts[from_revision].splitlines(keepends=True),
        texts[to_revision].splitlines(keepends=True),
        fromfile=f"revision {from_revision}",
        tofile=f"revision {to_revision}",
    )
    # A last line without its newline would run into the next one (`diff` prints a marker instead).
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def card_diff_html(mv: ModelVersion, from_revision: int, to_revision: int) -> str:
    """Red-line diff of two revisions of one version's card; NotFound for an unknown revision."""
    texts = _revision_texts(mv, from_revision, to_revision)
    return diff_table_html(
        texts[from_revision],
        texts[to_revision],
        from_label=f"revision {from_revision}",
        to_label=f"revision {to_revision}",
    )


def card_diff_between_versions_html(*, from_mv: ModelVersion | None, to_mv: ModelVersion) -> str:
    """For the promotion page: the latest card of `from_mv` (e.g. the last approved version) against the latest
    card of `to_mv`. An empty left side when from_mv is None or has no card."""
    left = selectors.latest_revision(from_mv) if from_mv is not None else None
    right = ensure_card(mv=to_mv)
    left_label = (
        f"v{from_mv.version} r{left.revision}" if (from_mv is not None and left) else "no earlier card"
    )
    return diff_table_html(
        left.markdown if left else "",
        right.markdown,
        from_label=left_label,
        to_label=f"v{to_mv.version} r{right.revision}",
    )
