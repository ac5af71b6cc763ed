"""Impact analysis: from a dataset (digest or source), a code commit or a run, every live version downstream and
the targets it holds now.

Downstream of a dataset are the runs that logged it (in any context: a dataset used only for evaluation still
vouched for the version), their descendant runs in the mirror (`mlflow.parentRunId`, followed at most
LINEAGE_MAX_DEPTH levels, each run once), and the versions registered from any of them. Queries: one for the
matching runs, one per level of descendants, one for the versions and one for their holdings, however many runs
or datasets match.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import TextField
from django.db.models.functions import Cast

from approvals.models import TargetHolding
from common.errors import InvalidInput, NotFound
from lineage import graph
from lineage.selectors import max_depth
from mirror.models import ModelVersion, Run

PARAMETERS = ("dataset_digest", "dataset_source", "commit", "run_id")
MIN_COMMIT_PREFIX = 7
PARENT_LOOKUP = f"tags__{graph.PARENT_RUN_TAG}__in"


@dataclass
class Impact:
    dataset: dict[str, Any] | None = None
    code: dict[str, Any] | None = None
    run: dict[str, Any] | None = None
    runs: list[str] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return summarise(self.versions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "code": self.code,
            "run": self.run,
            "runs": self.runs,
            "versions": self.versions,
            "summary": self.summary,
        }


def summarise(versions: list[dict[str, Any]]) -> str:
    """ "3 versions, 1 in production": how many versions, and how many of them hold each target now."""
    if not versions:
        return "No version is downstream."
    held = Counter(t for v in versions for t in v["targets"])
    parts = [f"{len(versions)} version{'s' if len(versions) != 1 else ''}"]
    parts += [f"{n} in {target}" for target, n in sorted(held.items(), key=lambda kv: (-kv[1], kv[0]))]
    return ", ".join(parts)


def parse(params: dict[str, str]) -> tuple[str, str]:
    given = [(k, (params.get(k) or "").strip()) for k in PARAMETERS if k in params]
    if len(given) != 1:
        raise InvalidInput(f"Give exactly one of {', '.join(PARAMETERS)}.")
    kind, value = given[0]
    if not value:
        raise InvalidInput(f"{kind} is empty.")
    if kind == "commit" and len(value) < MIN_COMMIT_PREFIX:
        raise InvalidInput(f"commit needs at least {MIN_COMMIT_PREFIX} characters of the SHA.")
    return kind, value[:1000]


def _mentioning(field_name: str, text: str):
    """Runs whose JSON `field_name` holds `text` (a prefilter in the database when the text reads the same in
    every backend's JSON text; otherwise every run): callers check each row exactly."""
    rows = Run.objects.all()
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        rows = rows.annotate(json_text=Cast(field_name, TextField())).filter(json_text__contains=text)
    return rows


def _matching_runs(kind: str, value: str, impact: Impact) -> list[str]:
    if kind == "run_id":
        row = Run.objects.filter(run_id=value).values_list("run_id", "run_name", "tags").first()
        if row is None:
            raise NotFound(f"No run {value!r} in the mirror.")
        impact.run = {"run_id": row[0], "name": row[1]}
        return [row[0]]
    if kind == "commit":
        return _commit_runs(value, impact)
    key = "digest" if kind == "dataset_digest" else "source"
    found, entries = [], []
    for run_id, datasets in _mentioning("datasets", value).values_list("run_id", "datasets"):
        matched = [
            graph.DatasetFact.from_entry(d)
            for d in datasets or ()
            if isinstance(d, dict) and str(d.get(key) or "").strip() == value
        ]
        if matched:
            found.append(run_id)
            entries.extend(matched)
    if not found:
        raise NotFound(f"No run in the mirror logged a dataset with {key} {value!r}.")
    impact.dataset = {
        key: value,
        "digests": sorted({e.digest for e in entries}),
        "names": sorted({e.name for e in entries if e.name}),
        "sources": sorted({e.source for e in entries if e.source}),
        "source_types": sorted({e.source_type for e in entries if e.source_type}),
    }
    return found


def _commit_runs(value: str, impact: Impact) -> list[str]:
    rows = _mentioning("tags", value).values_list("run_id", "tags")
    found, commits, repositories = [], set(), set()
    for run_id, tags in rows:
        commit = str((tags or {}).get(graph.COMMIT_TAG) or "")
        if commit.startswith(value):
            found.append(run_id)
            commits.add(commit)
            repositories.add(str(tags.get(graph.REPO_TAG) or ""))
    if not found:
        raise NotFound(f"No run in the mirror was built from commit {value!r}.")
    impact.code = {
        "commit": value,
        "commits": sorted(commits),
        "repositories": sorted(r for r in repositories if r),
    }
    return found


def _with_descendants(run_ids: list[str]) -> list[str]:
    seen = dict.fromkeys(run_ids)
    frontier = list(seen)
    for _ in range(max_depth()):
        if not frontier:
            break
        children = Run.objects.filter(**{PARENT_LOOKUP: frontier}).values_list("run_id", flat=True)
        frontier = [c for c in children if c not in seen]
        seen.update(dict.fromkeys(frontier))
    return list(seen)


def impact(params: dict[str, str]) -> Impact:
    kind, value = parse(params)
    result = Impact()
    result.runs = _with_descendants(_matching_runs(kind, value, result))
    versions = list(
        ModelVersion.objects.live()
        .filter(run_id__in=result.runs, model__deleted_at__isnull=True)
        .select_related("model")
        .order_by("model__name", "version")
    )
    held: dict[tuple[int, int], list[str]] = {}
    holdings = TargetHolding.objects.filter(
        held_to__isnull=True, model_id__in={mv.model_id for mv in versions}
    ).order_by("target")
    for h in holdings.values_list("model_id", "version", "target"):
        held.setdefault((h[0], h[1]), []).append(h[2])
    result.versions = [
        {
            "model": mv.model.name,
            "version": mv.version,
            "run_id": mv.run_id,
            "targets": held.get((mv.model_id, mv.version), []),
            "aliases": list(mv.aliases or ()),
            "stage": mv.stage,
        }
        for mv in versions
    ]
    return result
