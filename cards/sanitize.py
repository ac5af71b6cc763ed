"""Sanitising rendered card HTML: nh3 with an allowlist, behind a linear check that refuses HTML whose parsing
inside nh3 would not be linear (too deep, too many attributes on one element, too large). Pure: no I/O.
rendering.py explains the time budget."""

from __future__ import annotations

import re

import nh3

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
# Classes that the footnotes and the table of contents emit; any other class is dropped (no styling hooks).
ALLOWED_CLASSES = {
    "div": {"footnote", "toc"},
    "a": {"footnote-ref", "footnote-backref"},
    "sup": {"footnote-ref"},
}
URL_SCHEMES = {"http", "https", "mailto", "data"}  # data: for images only (_keep_url)
# An image shows only when it carries its own pixels: the page's CSP (img-src 'self' data:) and the exports'
# (img-src data:) block remote images, and a relative one would make every reader's browser send a request of
# the author's choosing to the app with the reader's cookies. Anything else keeps its alt text, without src.
IMAGE_DATA = re.compile(r"data:image/(?:png|jpeg|gif|webp)[;,]", re.I)
_CONTROL = re.compile(r"[\x00-\x20]")

# Past these the HTML parser inside nh3 slows down quadratically (measured: 16,000 nested blockquotes took
# 3.4 s, 40,000 attributes on one element 1.9 s); no real card comes near them.
MAX_NESTING = 64
MAX_ATTRIBUTES = 1000
# Markdown can expand a lot (one footnote cited 40,000 times: 256 KB → 12 MB of HTML); nh3 is linear but
# not free (≈ 0.5 s a megabyte here), so the HTML has a size budget of its own: four times the default card
# limit (a 256 KB card of prose, tables and code renders to about 830 KB).
MAX_HTML_CHARS = 1024 * 1024


class RenderError(ValueError):
    """The card cannot be rendered within the time budget (it nests too deep or an element is too large)."""


def sanitize_html(html: str) -> str:
    """nh3 with our allowlist. Raises RenderError for HTML whose parsing would not be linear."""
    check_html_complexity(html)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=URL_SCHEMES,
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_keep_url,
    )


def _keep_url(element: str, attribute: str, value: str) -> str | None:
    """nh3 has checked the scheme; data: stays only as an image's own pixels, an image only with them."""
    if element == "img" and attribute == "src":
        return value if IMAGE_DATA.match(_CONTROL.sub("", value)) else None
    if attribute == "href" and _CONTROL.sub("", value).lower().startswith("data:"):
        return None
    return value


# --- the complexity check in front of nh3 -----------------------------------------------------------
# One tag: its name, then everything up to its `>` (quoted values may hold `>`). Matches never overlap and
# the alternatives start with different characters, so the scan is linear.
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>?")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
         "track", "wbr", "keygen"}  # fmt: skip
# Elements the HTML parser re-opens after an implicit close ("reconstruct the active formatting elements").
_FORMATTING = {
    "a",
    "b",
    "big",
    "code",
    "em",
    "font",
    "i",
    "nobr",
    "s",
    "small",
    "strike",
    "strong",
    "tt",
    "u",
}
# A start tag that implicitly closes an open sibling (`<li>a<li>b`), so omitted end tags don't count as depth.
_CLOSED_BY = {"li": {"li"}, "dt": {"dt", "dd"}, "dd": {"dt", "dd"}, "p": {"p"}, "option": {"option"},
              "tr": {"tr", "td", "th"}, "td": {"td", "th"}, "th": {"td", "th"}}  # fmt: skip
_SPACE_RUN = re.compile(r"\s+")


def check_html_complexity(html: str) -> None:
    """Refuse HTML nesting deeper than MAX_NESTING or with an element of more than MAX_ATTRIBUTES attributes.

    A conservative model of the HTML parser's stack of open elements: an end tag closes the nearest open
    element of its name, formatting elements closed implicitly stay counted (the parser re-opens them), and
    unknown end tags are ignored. Linear: each tag costs at most MAX_NESTING steps.
    """
    if len(html) > MAX_HTML_CHARS:
        raise RenderError(
            f"The card renders to {len(html)} characters of HTML; the limit is {MAX_HTML_CHARS} "
            "(footnotes, tables or headings repeated too many times)."
        )
    stack: list[str] = []
    for closing, tag, rest in _TAG_RE.findall(html):
        if len(rest) > MAX_ATTRIBUTES and len(_SPACE_RUN.findall(rest)) > MAX_ATTRIBUTES:
            raise RenderError(f"An HTML element in the card has more than {MAX_ATTRIBUTES} attributes.")
        name = tag.lower()
        if closing:
            if stack and stack[-1] == name:  # the usual case: the end tag of the innermost element
                stack.pop()
                continue
            for i in range(len(stack) - 2, -1, -1):
                if stack[i] == name:
                    kept = [n for n in stack[i + 1 :] if n in _FORMATTING]
                    del stack[i:]
                    stack.extend(kept)
                    break
        elif name not in _VOID:
            closes = _CLOSED_BY.get(name)
            while closes and stack and stack[-1] in closes:
                stack.pop()
            stack.append(name)
            if len(stack) > MAX_NESTING:
                raise RenderError(
                    f"The card nests more than {MAX_NESTING} levels deep (lists, quotes, emphasis or HTML "
                    "elements inside each other)."
                )
