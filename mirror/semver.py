"""Semantic version labels of model versions, `MAJOR.MINOR.PATCH+<hash8>`, as the practice guide describes them:
each version is compared with the model's previous version. Pure (mypy strict): facts in, label out.

- **major** (breaking): the flavors change, the model class changes, or the signature's inputs change
  incompatibly: an input removed or renamed, its type (or tensor dtype/shape) changed, an optional input made
  required, or the signature dropped;
- **minor** (new features): inputs added (or made optional), a signature where there was none, or the
  hyper-parameters (the source run's params, the class param aside) changed;
- **patch**: retrained with the same configuration (different artifact bytes, nothing above changed);
- **same**: byte-identical artifacts (same content hash): the same model again, so the same numbers.

The first version of a model is `1.0.0`. `<hash8>` is the first 8 hex digits of the version's content hash
(`sha256:<hex>`). A model class or params that are unknown on either side count as unchanged: only a
difference between two known values bumps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FIRST = (1, 0, 0)
LABEL = re.compile(r"^(\d+)\.(\d+)\.(\d+)\+([0-9a-f]{8})$")
MAJOR, MINOR, PATCH, SAME = "major", "minor", "patch", "same"


@dataclass(frozen=True)
class Facts:
    """What the label compares of one version."""

    content_hash: str  # sha256:<hex>
    flavors: tuple[str, ...] = ()
    model_class: str | None = None  # None: unknown
    inputs: Sequence[Mapping[str, Any]] | None = None  # the signature's inputs; None: no signature
    params: Mapping[str, str] | None = None  # hyper-parameters; None: unknown (no source run)


@dataclass(frozen=True)
class Change:
    kind: str  # major | minor | patch | same
    reasons: tuple[str, ...] = field(default_factory=tuple)


def hash8(content_hash: str) -> str:
    digits = content_hash.split(":", 1)[-1].lower()
    if not re.fullmatch(r"[0-9a-f]{8,}", digits):
        raise ValueError(f"not a hex content hash: {content_hash!r}")
    return digits[:8]


def parse(label: str) -> tuple[int, int, int]:
    match = LABEL.match(label)
    if match is None:
        raise ValueError(f"not a MAJOR.MINOR.PATCH+hash8 label: {label!r}")
    return int(match[1]), int(match[2]), int(match[3])


def _input_key(index: int, spec: Mapping[str, Any]) -> str:
    name = spec.get("name")
    return str(name) if name not in (None, "") else f"#{index}"


def _input_type(spec: Mapping[str, Any]) -> str:
    """Everything but the name and whether it is required: type, tensor dtype and shape, nested items."""
    rest = {k: v for k, v in spec.items() if k not in ("name", "required")}
    return json.dumps(rest, sort_keys=True, separators=(",", ":"), default=str)


def _inputs(specs: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, bool]]:
    return {
        _input_key(i, spec): (_input_type(spec), spec.get("required", True) is not False)
        for i, spec in enumerate(specs)
    }


def _input_changes(
    before: Sequence[Mapping[str, Any]] | None, after: Sequence[Mapping[str, Any]] | None
) -> Change:
    if before is None and after is None:
        return Change(PATCH)
    if after is None:
        return Change(MAJOR, ("the signature was dropped",))
    if before is None:
        return Change(MINOR, ("a signature was added",))
    old, new = _inputs(before), _inputs(after)
    major = [f"input {k} removed or renamed" for k in old if k not in new]
    major += [f"input {k} changed type" for k in old if k in new and old[k][0] != new[k][0]]
    major += [f"input {k} became required" for k in old if k in new and new[k][1] and not old[k][1]]
    if major:
        return Change(MAJOR, tuple(major))
    minor = [f"input {k} added" for k in new if k not in old]
    minor += [f"input {k} became optional" for k in old if old[k][1] and not new[k][1]]
    return Change(MINOR, tuple(minor)) if minor else Change(PATCH)


def classify(before: Facts, after: Facts) -> Change:
    """How `after` differs from `before` (the model's previous version)."""
    if before.content_hash == after.content_hash:
        return Change(SAME, ("byte-identical artifacts",))
    major: list[str] = []
    if tuple(sorted(before.flavors)) != tuple(sorted(after.flavors)):
        major.append(f"flavors {', '.join(sorted(before.flavors))} → {', '.join(sorted(after.flavors))}")
    if before.model_class and after.model_class and before.model_class != after.model_class:
        major.append(f"model class {before.model_class} → {after.model_class}")
    inputs = _input_changes(before.inputs, after.inputs)
    if major or inputs.kind == MAJOR:
        return Change(MAJOR, (*major, *(inputs.reasons if inputs.kind == MAJOR else ())))
    minor = list(inputs.reasons)
    if before.params is not None and after.params is not None and before.params != after.params:
        keys = sorted(
            k for k in {*before.params, *after.params} if before.params.get(k) != after.params.get(k)
        )
        minor.append("hyper-parameters changed: " + ", ".join(keys))
    if minor:
        return Change(MINOR, tuple(minor))
    return Change(PATCH, ("retrained with the same configuration",))


def bump(numbers: tuple[int, int, int], kind: str) -> tuple[int, int, int]:
    major, minor, patch = numbers
    if kind == MAJOR:
        return major + 1, 0, 0
    if kind == MINOR:
        return major, minor + 1, 0
    if kind == PATCH:
        return major, minor, patch + 1
    return numbers


def label(after: Facts, *, before: Facts | None = None, before_label: str | None = None) -> str:
    """The label of `after`: 1.0.0 for a model's first version (no `before`), else `before_label` bumped by
    what changed since `before`."""
    if before is None or before_label is None:
        numbers = FIRST
    else:
        numbers = bump(parse(before_label), classify(before, after).kind)
    return "{}.{}.{}+{}".format(*numbers, hash8(after.content_hash))
