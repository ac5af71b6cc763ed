"""Markdown → sanitised HTML, and YAML front matter (Hugging Face model card metadata). Pure: no ORM, no I/O.

Everything shown or exported goes through `render_markdown`: python-markdown first, then nh3 with an allowlist,
so no script, event-handler attribute, style, `javascript:`/`data:` URL or foreign element survives whatever the
markdown holds (raw HTML included).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import markdown
import nh3
import yaml
from markdown.extensions.tables import TableExtension

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "a", "em", "strong", "b", "i", "code", "pre",
    "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "img", "sup", "sub", "div",
    "span", "dl", "dt", "dd", "del", "ins", "abbr", "caption",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id"},
    "img": {"src", "alt", "title"},
    "h1": {"id"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},
    "li": {"id"}, "sup": {"id"}, "div": {"id"},
    "th": {"align"}, "td": {"align"}, "ol": {"start"}, "abbr": {"title"},
}  # fmt: skip
# Classes that python-markdown's footnotes and toc emit; any other class is dropped (no styling hooks).
ALLOWED_CLASSES = {
    "div": {"footnote", "toc"},
    "a": {"footnote-ref", "footnote-backref"},
    "sup": {"footnote-ref"},
}
URL_SCHEMES = {"http", "https", "mailto"}

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


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=URL_SCHEMES,
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
    )


def _markdown() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            TableExtension(use_align_attribute=True),
            "fenced_code",
            "footnotes",
            "toc",
            "sane_lists",
            "def_list",
            "abbr",
        ],
        output_format="html",
    )


def render_body(body: str) -> str:
    """Markdown → HTML, NOT sanitised: always pass the result through `sanitize_html`."""
    return _markdown().convert(strip_markers(body))


def render_markdown(text: str) -> str:
    """The card body (front matter removed) as sanitised HTML."""
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


def _str_or_list(value) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _check_model_index(value) -> str | None:
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
_CHECKS = {
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


def parse_front_matter(text: str) -> dict[str, Any]:
    """The validated front matter as a dict ({} when there is none). Raises FrontMatterError naming the line."""
    front, _, _ = split_front_matter(text)
    if front is None or not front.strip():
        return {}
    try:
        data = yaml.safe_load(front)
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
    return _jsonable(data)


def _jsonable(value):
    """YAML may hold dates and other non-JSON scalars; keep them as text so the dict stores as JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def front_matter_rows(front: dict) -> list[tuple[str, str]]:
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
