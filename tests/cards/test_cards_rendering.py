"""Rendering: python-markdown then nh3. No script, handler, style or javascript:/data: URL survives
(OWASP XSS filter-evasion cheat sheet payloads); front matter is validated and names the broken line."""

import re
from html.parser import HTMLParser

import pytest

from cards.rendering import FrontMatterError, parse_front_matter, render_markdown

# From the OWASP "XSS Filter Evasion" cheat sheet (and a few markdown-specific ones).
OWASP_PAYLOADS = [
    "<SCRIPT SRC=https://cdn.jsdelivr.net/gh/Moksh45/host-xss.rocks/index.js></SCRIPT>",
    "javascript:/*--></title></style></textarea></script></xmp><svg/onload='+/\"/+/onmouseover=1/+/[*/[]/+alert(1)//'>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    '<a onmouseover="alert(document.cookie)">xxs link</a>',
    "<a onmouseover=alert(document.cookie)>xxs link</a>",
    '<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>',
    "<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG SRC= onmouseover=\"alert('xxs')\">",
    "<IMG onmouseover=\"alert('xxs')\">",
    '<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>',
    '<img src=x onerror="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041">',
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<IMG SRC=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041>",
    "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0D;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    '<SCRIPT/XSS SRC="http://xss.rocks/xss.js"></SCRIPT>',
    '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
    '<SCRIPT/SRC="http://xss.rocks/xss.js"></SCRIPT>',
    '<<SCRIPT>alert("XSS");//\\<</SCRIPT>',
    "<SCRIPT SRC=http://xss.rocks/xss.js?< B >",
    "<SCRIPT SRC=//xss.rocks/.j>",
    "<IMG SRC=\"`<javascript:alert>`('XSS')\"",
    "<iframe src=http://xss.rocks/scriptlet.html <",
    "\\\";alert('XSS');//",
    '</TITLE><SCRIPT>alert("XSS");</SCRIPT>',
    '<INPUT TYPE="IMAGE" SRC="javascript:alert(\'XSS\');">',
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<IMG DYNSRC=\"javascript:alert('XSS')\">",
    "<IMG LOWSRC=\"javascript:alert('XSS')\">",
    "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
    "<IMG SRC='vbscript:msgbox(\"XSS\")'>",
    "<svg/onload=alert('XSS')>",
    "<BODY ONLOAD=alert('XSS')>",
    "<BGSOUND SRC=\"javascript:alert('XSS');\">",
    '<LINK REL="stylesheet" HREF="javascript:alert(\'XSS\');">',
    "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
    '<META HTTP-EQUIV="Link" Content="<http://xss.rocks/xss.css>; REL=stylesheet">',
    '<STYLE>BODY{-moz-binding:url("http://xss.rocks/xssmoz.xml#xss")}</STYLE>',
    '<XSS STYLE="behavior: url(xss.htc);">',
    "<STYLE>@im\\port'\\ja\\vasc\\ript:alert(\"XSS\")';</STYLE>",
    "<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
    "<STYLE TYPE=\"text/javascript\">alert('XSS');</STYLE>",
    "<STYLE>.XSS{background-image:url(\"javascript:alert('XSS')\");}</STYLE><A CLASS=XSS></A>",
    '<STYLE type="text/css">BODY{background:url("javascript:alert(\'XSS\')")}</STYLE>',
    "<XSS STYLE=\"xss:expression(alert('XSS'))\">",
    '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(\'XSS\');">',
    '<META HTTP-EQUIV="refresh" CONTENT="0;url=data:text/html base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4K">',
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    '<IFRAME SRC=# onmouseover="alert(document.cookie)"></IFRAME>',
    "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
    "<TABLE><TD BACKGROUND=\"javascript:alert('XSS')\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<DIV STYLE=\"background-image:\\0075\\0072\\006C\\0028'\\006a\\0061\\0076\\0061\\0073\\0063\\0072\\0069\\0070\\0074\\003a\\0061\\006c\\0065\\0072\\0074\\0028.1027\\0058.1053\\0053\\0027\\0029'\\0029\">",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">",
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    '<OBJECT TYPE="text/x-scriptlet" DATA="http://xss.rocks/scriptlet.html"></OBJECT>',
    '<EMBED SRC="data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH A6Ly93d3cudzMub3JnLzIwMDAvc3ZnIiB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv MjAwMC9zdmciIHhtbG5zOnhsaW5rPSJodHRwOi8vd3d3LnczLm9yZy8xOTk5L3hs aW5rIiB2ZXJzaW9uPSIxLjAiIHg9IjAiIHk9IjAiIHdpZHRoPSIxOTQiIGhlaWdodD0iMjAw IiBpZD0ieHNzIj48c2NyaXB0IHR5cGU9InRleHQvZWNtYXNjcmlwdCI+YWxlcnQoIlh TUyIpOzwvc2NyaXB0Pjwvc3ZnPg==" type="image/svg+xml" AllowScriptAccess="always"></EMBED>',
    '<SCRIPT a=">" SRC="httx://xss.rocks/xss.js"></SCRIPT>',
    '<SCRIPT =">" SRC="httx://xss.rocks/xss.js"></SCRIPT>',
    '<SCRIPT "a=\'>\'" SRC="httx://xss.rocks/xss.js"></SCRIPT>',
    '<A HREF="http://0x42.0x0000066.0x7.0x93/">XSS</A>',
    "<A HREF=\"javascript:document.location='http://www.google.com/'\">XSS</A>",
    "<!--[if gte IE 4]><SCRIPT>alert('XSS');</SCRIPT><![endif]-->",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "<details open ontoggle=alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>',
    '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
    # markdown-specific
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1)  )",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert(1))",
    '![img](x" onerror="alert(1))',
    '[a](https://example.com "title\\" onmouseover=\\"alert(1)")',
    "<javascript:alert(1)>",
    "[ref]: javascript:alert(1)\n\n[link][ref]",
    "```html\n<script>alert(1)</script>\n```",
    "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | <script>alert(1)</script> |",
    'Footnote[^1]\n\n[^1]: <script>alert(1)</script> <a href="javascript:alert(1)">x</a>',
]

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
                if cleaned.startswith(("javascript:", "vbscript:", "data:")):
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
