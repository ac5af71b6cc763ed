"""Markdown → sanitised HTML, and YAML front matter (Hugging Face model card metadata). Pure: no ORM, no I/O.

Everything shown or exported goes through `render_markdown`: cmark-gfm (GitHub's C implementation of
CommonMark, with tables, strikethrough and footnotes) first, then nh3 with an allowlist, so no script,
event-handler attribute, style, `javascript:`/`data:` URL or foreign element survives whatever the markdown
holds (raw HTML included).

Rendering time is bounded (DESIGN.md threat model: no input holds a worker for more than seconds). cmark-gfm
is linear in its input by design (python-markdown was quadratic or worse: 10 KB of `[` took 18 s, and nested
lists overflowed the stack). What stays superlinear is the HTML parser inside nh3: its cost grows with the
nesting depth of the HTML it is given and with the attributes of one element. `sanitize.check_html_complexity`
measures both in one linear pass before nh3 and refuses what would be slow, so a card under the size limit
renders in well under a second (`make bench-cards` prints `worst_case_render_seconds`).
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from collections.abc import Callable
from typing import Any

import cmarkgfm
import yaml
from cmarkgfm.cmark import Options

from cards.sanitize import RenderError as RenderError  # re-exported: what render_markdown raises
from cards.sanitize import sanitize_html

# Headings past this many get no id (nor a line in the table of contents): the ids cost Python time each.
MAX_HEADING_IDS = 1000

# Markers that delimit generated sections and carried-forward notes; never part of the output.
MARKER_RE = re.compile(
    r"^[ \t]*<!--\s*(?:generated:(?:start|end)|carried-forward)\b[^\n]*?-->[ \t]*\n?", re.M
)


class FrontMatterError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(f"front matter, line {line}: {message}")
        self.line = line


def content_hash(markdown_text: str) -> str:
    return "sha256:" + hashlib.sha256(markdown_text.encode("utf-8")).hexdigest()


def strip_markers(text: str) -> str:
    return MARKER_RE.sub("", text)


# --- markdown → HTML ---------------------------------------------------------------------------------
_CMARK_OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_FOOTNOTES  # raw HTML is left to nh3
_CMARK_EXTENSIONS = ["table", "strikethrough"]
# cmark-gfm writes each heading on one line of its own, without attributes.
_HEADING_RE = re.compile(r"^<h([1-6])>([^\n]*)</h\1>$", re.M)
_TOC_RE = re.compile(r"^<p>\[TOC\]</p>$", re.M)
_FOOTNOTES_OPEN = '<section class="footnotes" data-footnotes>'


_TAG_TEXT_RE = re.compile(r"<[^<>]*>")


def _slug(text: str) -> str:
    text = html_lib.unescape(_TAG_TEXT_RE.sub("", text))
    slug = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", slug) or "section"


def _heading_ids(html: str) -> tuple[str, list[tuple[int, str, str]]]:
    """Give each heading a unique id (its slug, then slug_1, slug_2, ...); also return (level, id, text)."""
    seen: dict[str, int] = {}
    headings: list[tuple[int, str, str]] = []

    def add_id(m: re.Match[str]) -> str:
        level, inner = int(m.group(1)), m.group(2)
        slug = _slug(inner)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        ident = slug if n == 0 else f"{slug}_{n}"
        headings.append((level, ident, html_lib.escape(html_lib.unescape(_TAG_TEXT_RE.sub("", inner)))))
        return f'<h{level} id="{ident}">{inner}</h{level}>'

    return _HEADING_RE.sub(add_id, html, count=MAX_HEADING_IDS), headings


def _toc(headings: list[tuple[int, str, str]]) -> str:
    """`[TOC]` on a line of its own: nested lists of links to the headings."""
    parts = ['<div class="toc">']
    levels: list[int] = []
    for level, ident, text in headings:
        if levels and level <= levels[-1]:
            parts.append("</li>")
        while levels and level < levels[-1]:
            levels.pop()
            parts.append("</ul></li>")
        if not levels or level > levels[-1]:
            levels.append(level)
            parts.append("<ul>")
        parts.append(f'<li><a href="#{ident}">{text}</a>')
    if levels:
        parts.append("</li>" + "</ul></li>" * (len(levels) - 1) + "</ul>")
    parts.append("</div>")
    return "".join(parts)


def render_body(body: str) -> str:
    """Markdown → HTML, NOT sanitised: always pass the result through `sanitize_html`."""
    html = cmarkgfm.markdown_to_html_with_extensions(
        strip_markers(body), options=_CMARK_OPTIONS, extensions=_CMARK_EXTENSIONS
    )
    html, headings = _heading_ids(html)
    if "[TOC]" in html:
        toc = _toc(headings)
        html = _TOC_RE.sub(lambda _: toc, html, count=1)
    if _FOOTNOTES_OPEN in html:  # the footnotes section, as a div nh3 keeps (it drops <section>)
        head, _, tail = html.rpartition(_FOOTNOTES_OPEN)
        tail = tail.replace("</section>", "</div>", 1)
        html = f'{head}<hr />\n<div class="footnote">{tail}'
    return html


def render_markdown(text: str) -> str:
    """The card body (front matter removed) as sanitised HTML. Raises RenderError (see sanitize_html)."""
    _, body, _ = split_front_matter(text)
    return sanitize_html(render_body(body))


# --- front matter -----------------------------------------------------------------------------------
_FENCE = re.compile(r"^---[ \t]*$")
_END_FENCE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """(front matter YAML or None, body, line number where the body starts). Raises on an unclosed block."""
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0].rstrip("\r")):
        return None, text, 1
    for i in range(1, len(lines)):
        if _END_FENCE.match(lines[i].rstrip("\r")):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2
    raise FrontMatterError(1, "the block opened with '---' is never closed by a '---' line")


def _str_or_list(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _check_model_index(value: Any) -> str | None:
    if not isinstance(value, list):
        return "must be a list of {name, results}"
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return "each entry needs a 'name' string"
        results = entry.get("results", [])
        if not isinstance(results, list):
            return "'results' must be a list"
        for result in results:
            if not isinstance(result, dict):
                return "each result must be a mapping with task, dataset and metrics"
            task, dataset, metrics = result.get("task"), result.get("dataset"), result.get("metrics", [])
            if not isinstance(task, dict) or not isinstance(task.get("type"), str):
                return "each result needs a 'task' with a 'type'"
            if dataset is not None and (
                not isinstance(dataset, dict) or not isinstance(dataset.get("type"), str)
            ):
                return "a result's 'dataset' needs a 'type'"
            if not isinstance(metrics, list) or not all(
                isinstance(m, dict) and isinstance(m.get("type"), str) and "value" in m for m in metrics
            ):
                return "a result's 'metrics' must be a list of {type, value}"
    return None


# Hugging Face model card metadata keys we check; other keys are kept as written (HF allows them).
_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "license": (lambda v: isinstance(v, str), "must be a string (an SPDX id or 'other')"),
    "license_name": (lambda v: isinstance(v, str), "must be a string"),
    "license_link": (lambda v: isinstance(v, str), "must be a string"),
    "library_name": (lambda v: isinstance(v, str), "must be a string"),
    "pipeline_tag": (lambda v: isinstance(v, str), "must be a string"),
    "language": (_str_or_list, "must be a string or a list of strings"),
    "base_model": (_str_or_list, "must be a string or a list of strings"),
    "tags": (
        lambda v: isinstance(v, list) and all(isinstance(t, str | int | float) for t in v),
        "must be a list",
    ),
    "datasets": (_str_or_list, "must be a string or a list of strings"),
    "metrics": (_str_or_list, "must be a string or a list of strings"),
}


def _key_line(front: str, key: str) -> int:
    for i, line in enumerate(front.split("\n")):
        if re.match(rf"^['\"]?{re.escape(key)}['\"]?\s*:", line):
            return i + 2  # +1 for 1-based, +1 for the opening fence
    return 2


# Front matter is metadata, a few hundred bytes in practice; the size limit itself is a setting the services
# check (CARD_FRONT_MATTER_MAX_BYTES). Depth past this is no metadata anyone writes.
MAX_FRONT_MATTER_DEPTH = 20


class _BoundedSafeLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML has no type information here
    """SafeLoader without anchors and aliases (a 346-byte "billion laughs" expanded to 6.7 MB in 14.5 s) and
    with a nesting limit (deep flow collections overflowed the stack)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (& and *) are not allowed", event.start_mark
            )
        self._depth += 1
        if self._depth > MAX_FRONT_MATTER_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nests more than {MAX_FRONT_MATTER_DEPTH} levels deep", event.start_mark
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str) -> Any:
    """yaml.safe_load without aliases and with a depth limit; raises yaml.YAMLError."""
    loader = _BoundedSafeLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def parse_front_matter(text: str) -> dict[str, Any]:
    """The validated front matter as a dict ({} when there is none). Raises FrontMatterError naming the line."""
    front, _, _ = split_front_matter(text)
    if front is None or not front.strip():
        return {}
    try:
        data = load_yaml(front)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 2) if mark is not None else 2
        raise FrontMatterError(line, (exc.problem or exc.context or "invalid YAML").strip()) from None
    except yaml.YAMLError as exc:
        raise FrontMatterError(2, str(exc)) from None
    if not isinstance(data, dict):
        raise FrontMatterError(2, "must be a mapping of keys to values (Hugging Face model card metadata)")
    for key in data:
        if not isinstance(key, str):
            raise FrontMatterError(_key_line(front, str(key)), f"key {key!r} must be a string")
    for key, (ok, message) in _CHECKS.items():
        if key in data and data[key] is not None and not ok(data[key]):
            raise FrontMatterError(_key_line(front, key), f"'{key}' {message}")
    if "model-index" in data:
        problem = _check_model_index(data["model-index"])
        if problem:
            raise FrontMatterError(_key_line(front, "model-index"), f"'model-index' {problem}")
    jsonable: dict[str, Any] = _jsonable(data)
    return jsonable


def _jsonable(value: Any) -> Any:
    """YAML may hold dates and other non-JSON scalars; keep them as text so the dict stores as JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def front_matter_rows(front: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, display text) pairs for the front matter table."""
    rows = []
    for key, value in front.items():
        if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, dict | list):
            text = yaml.safe_dump(value, sort_keys=False, default_flow_style=None).strip()
        else:
            text = "" if value is None else str(value)
        rows.append((key, text))
    return rows
