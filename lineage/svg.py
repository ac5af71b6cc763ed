"""A laid-out lineage graph as a standalone SVG, drawn on the server (pure, no I/O): the one renderer of the SVG
download, the compact graph on the version page and the image in card exports.

Input is a graph's JSON with each node's `position` (`lineage.layout.with_positions`). Nodes are boxes coloured
by type (the page's legend colours), edges are drawn in the direction data flows, as on the page. Every text that
reaches the SVG comes from MLflow (run names, dataset names, tags anyone may write): it is stripped of the
characters XML cannot hold and escaped, in element text and attributes alike; the SVG holds no script, no style
sheet reference and, unless asked for, no link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape
from typing import Any

from lineage.layout import REVERSED

COLOURS = {
    "dataset": "#2f855a",
    "code": "#6b7483",
    "run": "#2557d6",
    "logged_model": "#d53f8c",
    "model_version": "#b7791f",
    "registered_model": "#805ad5",
    "target": "#c53030",
    "promotion": "#319795",
    "package": "#975a16",
}
TYPE_NAMES = {
    "dataset": "Dataset",
    "code": "Code",
    "run": "Run",
    "logged_model": "Logged model",
    "model_version": "Version",
    "registered_model": "Model",
    "target": "Target",
    "promotion": "Promotion",
    "package": "Package",
}
NODE_W, NODE_H, MARGIN, LEGEND_H = 180, 34, 24, 28
MAX_LABEL = 24
# What XML 1.0 cannot hold at all (C0 controls but tab, newline and carriage return; surrogates; U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def text(value: Any, limit: int | None = None) -> str:
    """`value` as text safe inside an SVG element or a quoted attribute (cut to `limit` characters)."""
    plain = _NOT_XML.sub("", str(value))
    if limit is not None and len(plain) > limit:
        plain = plain[: limit - 1] + "…"
    return escape(plain, quote=True)


def _box(node: Mapping[str, Any], dx: int, dy: int, links: bool) -> str:
    x, y = node["position"]["x"] + dx - NODE_W // 2, node["position"]["y"] + dy - NODE_H // 2
    colour = COLOURS.get(str(node["type"]), "#4a5568")
    kind = TYPE_NAMES.get(str(node["type"]), str(node["type"]))
    body = (
        f'<g class="node {text(node["type"])}"><title>{text(kind)}: {text(node["label"])}</title>'
        f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{colour}"/>'
        f'<text x="{x + NODE_W // 2}" y="{y + NODE_H // 2 + 4}" text-anchor="middle">'
        f"{text(node['label'], MAX_LABEL)}</text></g>"
    )
    href = next((link.get("href", "") for link in node.get("links") or ()), "") if links else ""
    if href.startswith("/"):  # only our own pages' paths
        return f'<a href="{text(href)}">{body}</a>'
    return body


def _line(source: Mapping[str, Any], target: Mapping[str, Any], kind: str, dx: int, dy: int) -> str:
    if kind in REVERSED:
        source, target = target, source
    x1, y1 = source["position"]["x"] + dx, source["position"]["y"] + dy
    x2, y2 = target["position"]["x"] + dx, target["position"]["y"] + dy
    if x1 < x2:
        x1, x2 = x1 + NODE_W // 2, x2 - NODE_W // 2
    elif x1 > x2:
        x1, x2 = x1 - NODE_W // 2, x2 + NODE_W // 2
    else:
        y1, y2 = (y1 + NODE_H // 2, y2 - NODE_H // 2) if y1 < y2 else (y1 - NODE_H // 2, y2 + NODE_H // 2)
    return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" marker-end="url(#arrow)"><title>{text(kind)}</title></line>'


def _legend(types: list[str], y: int) -> str:
    parts, x = [], MARGIN
    for kind in types:
        parts.append(
            f'<rect x="{x}" y="{y}" width="12" height="12" rx="2" fill="{COLOURS.get(kind, "#4a5568")}"/>'
            f'<text class="legend" x="{x + 16}" y="{y + 10}">{text(TYPE_NAMES.get(kind, kind))}</text>'
        )
        x += 28 + 7 * len(TYPE_NAMES.get(kind, kind))
    return "".join(parts)


def render(graph: Mapping[str, Any], *, title: str = "", links: bool = False, legend: bool = True) -> str:
    """The graph as an SVG document (`links`: each node links to its first page, for the pages only)."""
    nodes = [n for n in graph.get("nodes") or () if "position" in n]
    by_id = {n["id"]: n for n in nodes}
    xs = [n["position"]["x"] for n in nodes] or [0]
    ys = [n["position"]["y"] for n in nodes] or [0]
    top = LEGEND_H if legend else 0
    dx = MARGIN + NODE_W // 2 - min(xs)
    dy = MARGIN + top + NODE_H // 2 - min(ys)
    width = max(xs) - min(xs) + NODE_W + 2 * MARGIN
    height = max(ys) - min(ys) + NODE_H + 2 * MARGIN + top
    lines = [
        _line(by_id[e["source"]], by_id[e["target"]], str(e["type"]), dx, dy)
        for e in graph.get("edges") or ()
        if e["source"] in by_id and e["target"] in by_id
    ]
    boxes = [_box(n, dx, dy, links) for n in nodes]
    present = [kind for kind in COLOURS if any(n["type"] == kind for n in nodes)]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{text(title)}" font-family="sans-serif" font-size="12">'
        f"<title>{text(title)}</title>"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#8a94a6"/></marker></defs>'
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>'
        + (_legend(present, MARGIN // 2) if legend else "")
        + f'<g stroke="#8a94a6" stroke-width="1.5">{"".join(lines)}</g>'
        + f'<g fill="#ffffff">{"".join(boxes)}</g></svg>'
    )
