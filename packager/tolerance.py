"""Which parity tolerance a packaging job checks its package against: the policy's, when governance says so
(the policy lives above this app, so governance registers a provider in its AppConfig.ready()), else the
setting PACKAGE_PARITY_TOLERANCE (default 1e-4)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

_provider: Callable[[str], float | None] | None = None


def provide(fn: Callable[[str], float | None]) -> None:
    """Register fn(model_name) -> the policy's tolerance for that model's packages, or None (no opinion)."""
    global _provider
    _provider = fn


def for_model(model_name: str) -> float:
    value = _provider(model_name) if _provider is not None else None
    return float(settings.PACKAGE_PARITY_TOLERANCE) if value is None else float(value)
