"""The comparison as the page's table rows (formatted cells, best and delta marks) and as CSV rows."""

from __future__ import annotations

from typing import Any


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return ""
    return f"{value:+.6g}" if signed else f"{value:.6g}"


def _metric_cell(value: float | None, best: bool, delta: float | None) -> dict:
    """One metric cell, with its classes decided here: the template stays a plain loop (500 cells)."""
    return {
        "value": value,
        "text": _fmt(value),
        "best": best,
        "cls": "num best" if best else "num",
        "delta": delta,
        "delta_text": _fmt(delta, signed=True),
        "delta_cls": "delta small up"
        if delta and delta > 0
        else ("delta small down" if delta else "delta small"),
    }


def table_rows(data: dict) -> dict:
    """The comparison as rows for the page: one cell per version, flags for best values and differences."""
    labels = [v["ref"] for v in data["versions"]]
    primary = set(data["primary_metrics"])
    many = len(labels) > 1
    metrics = []
    for key, row in data["metrics"].items():
        best, deltas = set(data["best"][key]), data["deltas"][key]
        cells = [
            _metric_cell(row[lab], many and lab in best, deltas[lab] if i else None)
            for i, lab in enumerate(labels)
        ]
        metrics.append(
            {"key": key, "goal": data["metric_goals"][key], "primary": key in primary, "cells": cells}
        )

    def plain(section: str, differing: list[str]) -> list[dict]:
        diff = set(differing)
        return [
            {"key": key, "differs": key in diff, "cells": [row[lab] for lab in labels]}
            for key, row in data[section].items()
        ]

    cards = data.get("cards")
    return {
        "labels": labels,
        "metrics": metrics,
        "params": plain("params", data["differing_params"]),
        "tags": plain("tags", data["differing_tags"]),
        "datasets": plain("datasets", data["differing_datasets"]),
        "signatures": [data["signatures"][lab] for lab in labels],
        "cards": [cards.get(lab) for lab in labels] if cards else None,
    }


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def csv_rows(data: dict) -> list[list[str]]:
    """The side-by-side table as CSV rows: section, key, then one column per version (empty = missing)."""
    labels = [v["ref"] for v in data["versions"]]
    rows = [["section", "key", *labels]]
    for field in ("stage", "aliases", "status", "creator", "run_id", "content_hash"):
        # MLflow's stage of an unstaged version is the text "None": a missing value, so an empty cell.
        values = [None if field == "stage" and v[field] == "None" else v[field] for v in data["versions"]]
        rows.append(["version", field, *[_csv_value(v) for v in values]])
    for key, row in data["metrics"].items():
        rows.append(["metric", key, *[_csv_value(row[lab]) for lab in labels]])
    for section, name in (("params", "param"), ("tags", "tag"), ("datasets", "dataset")):
        for key, row in data[section].items():
            rows.append([name, key, *[_csv_value(row[lab]) for lab in labels]])
    for lab in labels[1:]:
        diff = data["signatures"][lab]
        for part in ("inputs", "outputs"):
            changes = (
                [f"+{n}" for n in diff[part]["added"]]
                + [f"-{n}" for n in diff[part]["removed"]]
                + [f"~{c['name']}" for c in diff[part]["changed"]]
            )
            if changes:
                rows.append(
                    [
                        "signature",
                        f"{part} vs {labels[0]}",
                        *[" ".join(changes) if x == lab else "" for x in labels],
                    ]
                )
    if data.get("cards"):
        rows.append(
            [
                "card",
                "completeness",
                *[_csv_value((data["cards"].get(lab) or {}).get("score")) for lab in labels],
            ]
        )
    return rows
