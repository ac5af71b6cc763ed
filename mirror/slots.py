"""Page slots: places on the mirror's pages that apps above it fill (governance's panels on the dashboard, the
model page and the version page), the way they subscribe to the after-sync hooks. An app registers a provider
for a slot in its AppConfig.ready(); the mirror's view asks for the panels of its slots with the objects of
the page, and the template renders what it got (`{% slot "name" %}`, mirror/templatetags/slots.py). The mirror
imports none of the apps that fill its slots, and its templates include none of their templates.

Slots and what their providers receive (keyword arguments; a provider ignores the ones it does not need):
  "dashboard"            user
  "model.banner"         model; mv on the version page (None on the model page)
  "version_detail.side"  model, mv
  "version_detail.card"  model, mv
  "model_detail.versions" model, rows (the page's (version, primary metric) rows): a Column of the table
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Panel:
    """A template of the providing app and its context (rendered inside the page's context)."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Column:
    """A column of a table on the page: its header and each row's cell (HTML, keyed by the row's pk)."""

    header: str
    cells: dict[int, str] = field(default_factory=dict)


Provider = Callable[..., Panel | Column | None]
_providers: dict[str, list[Provider]] = {}


def provide(slot: str, fn: Provider) -> Provider:
    """Register fn(request, **objects) -> Panel (or Column), None for nothing on this page, for the slot."""
    providers = _providers.setdefault(slot, [])
    if fn not in providers:
        providers.append(fn)
    return fn


def fill(request: HttpRequest, *slots: str, **objects: Any) -> dict[str, list[Any]]:
    """{slot: its panels, in the order the providers registered}: what a view puts in its context as `slots`."""
    filled: dict[str, list[Any]] = {}
    for slot in slots:
        panels = [fn(request, **objects) for fn in _providers.get(slot, ())]
        filled[slot] = [p for p in panels if p is not None]
    return filled
