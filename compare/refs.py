"""The versions a comparison is about: parse a selection (`?v=model:version`, or `?model=` with `?versions=`)
and resolve it to mirror rows, loaded with their models and source runs in one query."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from common.errors import InvalidInput
from mirror.models import ModelVersion, RegisteredModel

MAX_VERSIONS = 20


@dataclass(frozen=True)
class Ref:
    model: str
    version: int

    @property
    def label(self) -> str:
        return f"{self.model}:{self.version}"


def _getlist(params, key: str) -> list[str]:
    if hasattr(params, "getlist"):
        return [v for v in params.getlist(key)]
    value = params.get(key)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]


def _version_number(text: str, field: str) -> int:
    if not re.fullmatch(r"\s*v?\d{1,9}\s*", text):
        raise InvalidInput(f"{field}: {text!r} is not a version number.", field=field)
    number = int(text.strip().lstrip("v"))
    if number < 1:
        raise InvalidInput(f"{field}: {text!r} is not a version number.", field=field)
    return number


def has_selection(params) -> bool:
    return bool(_split(_getlist(params, "versions")) or _split(_getlist(params, "refs")))


def parse_selection(params) -> list[Ref]:
    """The refs named by `model` + `versions` (repeated or comma-separated) and/or `refs=NAME:V,...`,
    in the order given. Raises InvalidInput naming the bad value."""
    model = (params.get("model") or "").strip()
    versions = _split(_getlist(params, "versions"))
    refs: list[Ref] = []
    if versions and not model:
        raise InvalidInput(
            "versions were given without a model: add model=NAME or use refs=NAME:VERSION.", field="model"
        )
    for text in versions:
        refs.append(Ref(model, _version_number(text, "versions")))
    for text in _split(_getlist(params, "refs")):
        name, sep, number = text.rpartition(":")
        if not sep or not name.strip():
            raise InvalidInput(f"refs: {text!r} must be NAME:VERSION.", field="refs")
        refs.append(Ref(name.strip(), _version_number(number, "refs")))
    if not refs:
        raise InvalidInput(
            "Choose at least one version: model=NAME&versions=1,2 or refs=NAME:1,OTHER:4.", field="versions"
        )
    seen: set[Ref] = set()
    for ref in refs:
        if ref in seen:
            raise InvalidInput(f"{ref.label} is selected more than once.", field="versions")
        seen.add(ref)
    if len(refs) > MAX_VERSIONS:
        raise InvalidInput(
            f"At most {MAX_VERSIONS} versions can be compared; {len(refs)} were given.", field="versions"
        )
    return refs


def resolve(refs: list[Ref]) -> list[ModelVersion]:
    """The live versions for `refs`, in their order, with model and source run loaded (one query).
    Raises InvalidInput naming the unknown model or version."""
    condition = Q()
    for ref in refs:
        condition |= Q(model__name=ref.model, version=ref.version)
    rows = (
        ModelVersion.objects.live()
        .filter(model__deleted_at__isnull=True)
        .filter(condition)
        .select_related("model", "source_run")
    )
    found = {(mv.model.name, mv.version): mv for mv in rows}
    missing = [ref for ref in refs if (ref.model, ref.version) not in found]
    if missing:
        names = {ref.model for ref in missing}
        known = set(RegisteredModel.objects.live().filter(name__in=names).values_list("name", flat=True))
        ref = missing[0]
        if ref.model not in known:
            raise InvalidInput(f"Unknown model {ref.model!r}.", field="model")
        raise InvalidInput(f"Model {ref.model!r} has no version {ref.version}.", field="versions")
    return [found[(ref.model, ref.version)] for ref in refs]


def selection(params) -> list[ModelVersion]:
    return resolve(parse_selection(params))


def label(mv: ModelVersion) -> str:
    return f"{mv.model.name}:{mv.version}"
