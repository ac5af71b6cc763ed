"""Rendering: python-markdown then nh3. No script, handler, style or javascript:/data: URL survives
(OWASP XSS filter-evasion cheat sheet payloads); front matter is validated and names the broken line."""

import re
from html.parser import HTMLParser

import pytest

from cards.rendering import FrontMatterError, parse_front_matter, render_markdown
from tests.support.xss import OWASP_PAYLOADS

# From the OWASP "XSS Filter Evasion" cheat sheet (and a few markdown-specific ones).

FORBIDDEN_TAGS = {
    "script",
    "iframe",
    "object",
    "embed",
    "frame",
    "frameset",
    "base",
    "meta",
    "link",
    "style",
    "form",
    "input",
    "button",
    "svg",
    "math",
    "body",
    "details",
    "bgsound",
    "xss",
    "applet",
    "template",
}
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "background",
    "dynsrc",
    "lowsrc",
    "formaction",
    "xlink:href",
    "data",
}


def _image_data(tag: str, name: str, url: str) -> bool:
    """An image's own raster pixels: inert, and the only image a card shows (cards/sanitize.py)."""
    return tag == "img" and name == "src" and re.match(r"data:image/(png|jpeg|gif|webp)[;,]", url) is not None


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag}[{name}]")
            if name == "style":
                self.problems.append(f"{tag}[style]")
            if name in URL_ATTRIBUTES and value is not None:
                # As the URL parser does: trim C0 controls and spaces, drop tabs and newlines anywhere.
                cleaned = re.sub(
                    r"[\t\n\r]",
                    "",
                    value.strip(
                        "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r"
                        "\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a"
                        "\x1b\x1c\x1d\x1e\x1f "
                    ),
                ).lower()
                if cleaned.startswith(("javascript:", "vbscript:", "data:")) and not _image_data(
                    tag, name, cleaned
                ):
                    self.problems.append(f"{tag}[{name}={value!r}]")

    def handle_comment(self, data):
        self.problems.append("comment")  # conditional comments execute in old IE; none should survive


def dangerous(html: str) -> list[str]:
    """Parses the output as a browser would (elements and decoded attributes), not as text: escaped payloads
    shown as text are harmless."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.problems


@pytest.mark.parametrize("payload", OWASP_PAYLOADS)
def test_no_executable_markup_survives_rendering(payload):
    for text in (payload, f"## Intended use\n\n{payload}\n", f"- item {payload}\n", f"> {payload}"):
        html = render_markdown(text)
        assert dangerous(html) == [], html


def test_the_payload_list_really_is_dangerous_before_sanitising():
    """Guards the test itself: python-markdown alone lets most of these through."""
    from cards.rendering import render_body

    raw = [p for p in OWASP_PAYLOADS if dangerous(render_body(p))]
    assert len(raw) > len(OWASP_PAYLOADS) // 2


def test_markdown_features_survive_sanitising():
    text = """# Title

Intro with a footnote[^n] and `code`.

[TOC]

## Table

| Left | Right |
|:-----|------:|
| a    | 1     |

```python
print("<b>hi</b>")
```

[link](https://example.com/x?a=1&b=2) and <mailto:someone@example.com>

[^n]: The note.
"""
    html = render_markdown(text)
    assert '<h2 id="table">Table</h2>' in html
    assert '<td align="right">1</td>' in html
    assert "<pre><code" in html and "&lt;b&gt;hi&lt;/b&gt;" in html
    assert 'class="footnote"' in html
    assert 'class="toc"' in html
    assert 'href="https://example.com/x?a=1&amp;b=2"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


PIXEL = "data:image/png;base64,iVBORw0KGgo="


@pytest.mark.parametrize(
    "image",
    [
        "![chart](x.png)",
        "![chart](/static/img/logo.png)",
        "![chart](https://tracker.example.com/p.png)",
        '<img src="/accounts/profile/?tab=tokens" alt="chart">',
        "![chart](data:image/svg+xml;base64,PHN2Zy8+)",
        "![chart](data:text/html;base64,PHNjcmlwdD4=)",
    ],
)
def test_an_image_without_its_own_pixels_keeps_its_alt_text_and_loads_nothing(image):
    # The CSPs block remote images (a violation on every view), and a relative one is a request of the
    # author's choosing sent by every reader's browser with the reader's cookies.
    html = render_markdown(image)
    assert "src=" not in html
    assert 'alt="chart"' in html


def test_an_image_carrying_its_pixels_shows_and_a_data_link_does_not():
    html = render_markdown(f"![chart]({PIXEL}) [page](data:text/html,hi) [doc](DATA:text/html,hi)")
    assert f'<img src="{PIXEL}" alt="chart">' in html
    assert "data:text" not in html.lower()


def test_generated_markers_and_front_matter_are_not_in_the_output():
    html = render_markdown(
        "---\nlicense: mit\n---\n<!-- generated:start metrics -->\nhello\n<!-- generated:end metrics -->\n"
    )
    assert "generated" not in html and "license" not in html
    assert "<p>hello</p>" in html


# --- front matter -------------------------------------------------------------------------------------
def test_hugging_face_front_matter_is_parsed():
    text = """---
language: [en]
license: apache-2.0
library_name: sklearn
tags:
- tabular-classification
datasets:
- credit-default
metrics:
- f1
model-index:
- name: credit-default-classifier
  results:
  - task: {type: tabular-classification}
    dataset: {type: credit-default, name: Credit default}
    metrics:
    - {type: f1, value: 0.81}
---
# Card
"""
    front = parse_front_matter(text)
    assert front["license"] == "apache-2.0"
    assert front["model-index"][0]["results"][0]["metrics"][0]["value"] == 0.81


def test_no_front_matter_is_an_empty_mapping():
    assert parse_front_matter("# Card\n---\nnot front matter\n---\n") == {}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("---\nlicense: mit\ntags: [a, b\n---\n", 3),  # unclosed flow sequence
        ("---\nlicense: mit\n  bad: indentation\n---\n", 3),
        ("---\nlicense: mit\ntags: a\n---\n", 3),  # tags must be a list
        ("---\ntags: [a]\nlicense: [mit]\n---\n", 3),  # license must be a string
        ("---\n- just\n- a list\n---\n", 2),
        ("---\nlicense: mit\n", 1),  # never closed
        ("---\nlicense: mit\nmodel-index:\n- results: []\n---\n", 3),  # model-index entry without a name
        ("---\nlicense: mit\n\ndatasets: {a: 1}\n---\n", 4),
    ],
)
def test_broken_front_matter_names_the_line(text, line):
    with pytest.raises(FrontMatterError) as err:
        parse_front_matter(text + "# Card\n")
    assert err.value.line == line
    assert f"line {line}" in str(err.value)
