"""Drafting a card from the mirror's facts. Pure: takes plain dicts (built by `selectors.version_facts`).

- `draft_card(facts)`: a new card — front matter, generated sections, placeholders for the human sections.
- `regenerate(markdown, facts)`: refresh only what lies between the generated markers; human text untouched.
- `carry_forward(previous_markdown, facts, from_version=)`: a new version's card from the previous version's
  card — fresh generated sections, the human sections kept and marked as carried forward.
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

import yaml

from cards.rendering import split_front_matter
from cards.sections import (
    CARD_ORDER,
    CARRIED_RE,
    EMPTY_SENTINELS,
    GEN_BLOCK_RE,
    GEN_END,
    GEN_START,
    GENERATED_SECTIONS,
    HUMAN_SECTIONS,
    holds_placeholder,
    meaningful_text,
    split_sections,
)

SOURCE_TAGS = [
    ("mlflow.source.type", "Source type"),
    ("mlflow.source.name", "Entry point"),
    ("mlflow.source.git.repoURL", "Repository"),
    ("mlflow.source.git.branch", "Branch"),
    ("mlflow.source.git.commit", "Commit"),
    ("mlflow.project.entryPoint", "Project entry point"),
    ("mlflow.user", "Run by"),
]
FLAVOR_LIBRARIES = {"sklearn": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm", "pytorch": "pytorch",
                    "tensorflow": "tensorflow", "keras": "keras", "transformers": "transformers"}  # fmt: skip


def cell(value: Any) -> str:
    """A value as markdown table cell text: escaped, one line, pipes neutralised."""
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        text = fmt_number(value)
    elif isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, default=str)
    else:
        text = str(value)
    text = html.escape(text, quote=False).replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return text if len(text) <= 300 else text[:297] + "…"


def fmt_number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number) or math.isinf(number):
        return str(number)
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.6g}"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# --- generated sections ------------------------------------------------------------------------------
def _header(f: dict) -> str:
    m, v = f["model"], f["version"]
    lines = [f"# {m['name']} — version {v['version']}", ""]
    description = (v.get("description") or m.get("description") or "").strip()
    if description:
        lines += [html.escape(description, quote=False), ""]
    lines.append(
        "_Model card drafted from the MLflow registry. Sections marked as generated are refreshed from the "
        "registry; every other section is written by people._"
    )
    return "\n".join(lines)


NOT_READ = "not read from MLflow yet"


def _model_details(f: dict) -> str:
    m, v, run = f["model"], f["version"], f.get("run") or {}
    unread = v.get("artifacts_read") is False
    rows = [
        ["Model", m["name"]],
        ["Version", v["version"]],
        ["Creator", v.get("creator")],
        ["Created", v.get("creation_timestamp")],
        ["Status", v.get("status")],
        ["Flavors", NOT_READ if unread else ", ".join(v.get("flavors") or [])],
        ["Source", v.get("source")],
        ["Source run", v.get("run_id")],
        ["Run name", run.get("run_name")],
        ["Experiment", run.get("experiment_id")],
        ["Artifact content hash", NOT_READ if unread else v.get("content_hash")],
        ["Semantic version", NOT_READ if unread else v.get("semver") or "not computed yet"],
    ]
    tags = {k: val for k, val in (v.get("tags") or {}).items() if not k.startswith("mlflow.")}
    rows += [[f"Tag `{cell(k)}`", val] for k, val in sorted(tags.items())]
    return table(["Field", "Value"], rows)


def _rows_of(dataset: dict) -> Any:
    profile = dataset.get("profile")
    if isinstance(profile, str):
        try:
            profile = json.loads(profile)
        except ValueError:
            profile = None
    if isinstance(profile, dict):
        return profile.get("num_rows")
    return None


def _training_data(f: dict) -> str:
    run = f.get("run") or {}
    datasets = run.get("datasets") or []
    data_tags = {**{k: val for k, val in (run.get("tags") or {}).items() if k.startswith("data.")}}
    data_tags.update({k: val for k, val in (f["version"].get("tags") or {}).items() if k.startswith("data.")})
    parts = []
    if datasets:
        rows = [
            [
                d.get("name"),
                d.get("context"),
                d.get("digest"),
                d.get("source_type"),
                d.get("source"),
                _rows_of(d),
            ]
            for d in datasets
        ]
        parts.append(table(["Dataset", "Context", "Digest", "Source type", "Source", "Rows"], rows))
    if data_tags:
        parts.append(table(["Data tag", "Value"], [[k, val] for k, val in sorted(data_tags.items())]))
    if not parts:
        return EMPTY_SENTINELS["training_data"]
    return "\n\n".join(parts)


def _history_summary(points: list[dict]) -> str:
    values = [p["value"] for p in points if isinstance(p.get("value"), int | float)]
    if not values:
        return "—"
    return (
        f"{len(values)} steps; first {fmt_number(values[0])}, min {fmt_number(min(values))}, "
        f"max {fmt_number(max(values))}, last {fmt_number(values[-1])}"
    )


def _metrics(f: dict) -> str:
    run = f.get("run") or {}
    metrics = run.get("metrics") or {}
    if not metrics:
        return EMPTY_SENTINELS["metrics"]
    histories = f.get("histories") or {}
    primary = f["model"].get("primary_metric")
    rows = []
    for key in sorted(metrics):
        name = f"{key} (primary)" if key == primary else key
        summary = _history_summary(histories[key]) if key in histories else "not fetched"
        value = metrics[key]  # None: NaN or ±Infinity in MLflow (the gateway's rule)
        rows.append([name, "NaN" if value is None else fmt_number(value), summary])
    return table(["Metric", "Value", "History"], rows)


def _parameters(f: dict) -> str:
    params = (f.get("run") or {}).get("params") or {}
    if not params:
        return "_No parameters were logged with the source run._"
    return table(["Parameter", "Value"], [[k, params[k]] for k in sorted(params)])


def _code(f: dict) -> str:
    tags = (f.get("run") or {}).get("tags") or {}
    rows = [[label, tags[key]] for key, label in SOURCE_TAGS if tags.get(key)]
    extra = sorted(k for k in tags if k.startswith("mlflow.source.") and k not in dict(SOURCE_TAGS))
    rows += [[k, tags[k]] for k in extra]
    if not rows:
        return "_No source code information was logged with the source run._"
    return table(["Field", "Value"], rows)


def _spec_rows(columns: list) -> list[list[Any]]:
    rows = []
    for i, col in enumerate(columns or []):
        if not isinstance(col, dict):
            rows.append([f"#{i}", str(col), ""])
            continue
        kind = col.get("type")
        if kind == "tensor" and isinstance(col.get("tensor-spec"), dict):
            spec = col["tensor-spec"]
            kind = f"tensor {spec.get('dtype')} {spec.get('shape')}"
        required = "optional" if col.get("required") is False or col.get("optional") is True else "required"
        rows.append([col.get("name") or f"#{i}", kind, required])
    return rows


def _signature(f: dict) -> str:
    sig = f["version"].get("signature")
    if not sig and f["version"].get("artifacts_read") is False:
        return "_The version's artifacts have not been read from MLflow yet; this section is filled in when they are._"
    if not sig:
        return "_The model was logged without a signature._"
    parts = []
    for part in ("inputs", "outputs"):
        rows = _spec_rows(sig.get(part) or [])
        if rows:
            parts.append(f"**{part.capitalize()}**\n\n" + table(["Name", "Type", "Required"], rows))
    return "\n\n".join(parts) or "_The signature is empty._"


def _aliases_and_stages(f: dict) -> str:
    v, m = f["version"], f["model"]
    aliases = ", ".join(f"`{cell(a)}`" for a in v.get("aliases") or []) or "none"
    lines = [f"This version holds aliases: {aliases}; stage: {cell(v.get('stage') or 'None')}.", ""]
    holders = m.get("aliases") or {}
    if holders:
        lines.append(table(["Alias", "Held by version"], [[a, holders[a]] for a in sorted(holders)]))
    return "\n".join(lines).strip()


BUILDERS = {
    "header": _header,
    "model_details": _model_details,
    "training_data": _training_data,
    "metrics": _metrics,
    "parameters": _parameters,
    "code": _code,
    "signature": _signature,
    "aliases_and_stages": _aliases_and_stages,
}


def generated_blocks(facts: dict) -> dict[str, str]:
    return {key: build(facts) for key, build in BUILDERS.items()}


def _block(key: str, body: str) -> str:
    return f"{GEN_START.format(key=key)}\n{body.rstrip()}\n{GEN_END.format(key=key)}"


def default_front_matter(facts: dict) -> dict:
    front: dict[str, Any] = {}
    for flavor in facts["version"].get("flavors") or []:
        if flavor in FLAVOR_LIBRARIES:
            front["library_name"] = FLAVOR_LIBRARIES[flavor]
            break
    front["tags"] = ["mlflow"]
    return front


def fill_front_matter(markdown: str, facts: dict) -> str:
    """Add the `library_name` a draft could not know before the flavors were read, when the front matter has
    none; one line inserted after the opening fence, everything else kept byte for byte."""
    library = default_front_matter(facts).get("library_name")
    try:
        front, _, _ = split_front_matter(markdown)
    except ValueError:
        return markdown
    if not library or front is None:
        return markdown
    try:
        parsed = yaml.safe_load(front) or {}
    except yaml.YAMLError:
        return markdown
    if not isinstance(parsed, dict) or "library_name" in parsed:
        return markdown
    first, _, rest = markdown.partition("\n")
    return f"{first}\nlibrary_name: {library}\n{rest}"


def draft_card(facts: dict) -> str:
    blocks = generated_blocks(facts)
    front = yaml.safe_dump(default_front_matter(facts), sort_keys=False).strip()
    parts = [f"---\n{front}\n---", _block("header", blocks["header"])]
    for key in CARD_ORDER:
        if key in GENERATED_SECTIONS:
            parts.append(f"## {GENERATED_SECTIONS[key]}\n\n{_block(key, blocks[key])}")
        else:
            heading, placeholder = HUMAN_SECTIONS[key]
            parts.append(f"## {heading}\n\n{placeholder}")
    return "\n\n".join(parts) + "\n"


def regenerate(markdown: str, facts: dict) -> str:
    """Refresh the generated blocks in place. Text outside the markers is kept byte for byte; a generated
    section whose markers are gone (and whose heading is gone too) is appended at the end."""
    blocks = generated_blocks(facts)
    seen: set[str] = set()

    def replace(match: re.Match) -> str:
        key = match.group("key")
        if key not in blocks:
            return match.group(0)
        seen.add(key)
        return _block(key, blocks[key])

    out = GEN_BLOCK_RE.sub(replace, markdown)
    try:
        _, body, _ = split_front_matter(out)
    except ValueError:
        body = out
    present = {s.key for s in split_sections(body)[1]}
    tail = [
        f"## {GENERATED_SECTIONS[key]}\n\n{_block(key, blocks[key])}"
        for key in CARD_ORDER
        if key in GENERATED_SECTIONS and key not in seen and key not in present
    ]
    if tail:
        out = out.rstrip("\n") + "\n\n" + "\n\n".join(tail) + "\n"
    return out


def carry_forward(previous_markdown: str, facts: dict, *, from_version: int, from_revision: int) -> str:
    """A new version's card: the previous card with fresh generated sections and its human sections marked."""
    text = CARRIED_RE.sub("", regenerate(previous_markdown, facts))
    try:
        front, body, _ = split_front_matter(text)
    except ValueError:
        front, body = None, text
    lines = body.split("\n")
    _, sections = split_sections(body)
    note = [
        f"<!-- carried-forward from-version={from_version} from-revision={from_revision} -->",
        f"*Carried forward from version {from_version} (card revision {from_revision}); "
        "check it still holds for this version.*",
        "",
    ]
    for section in reversed(sections):
        if section.key in GENERATED_SECTIONS or GEN_BLOCK_RE.search(section.body):
            continue
        if holds_placeholder(section.body) or not meaningful_text(section.body):
            continue
        at = section.index + 1
        while at < len(lines) and not lines[at].strip():
            at += 1
        lines[at:at] = note
    body = "\n".join(lines)
    if front is None:
        return body
    return f"---\n{front}\n---\n{body}"
