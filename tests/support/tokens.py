"""API tokens for tests: a real hashed token made through the service (the key returned once)."""

from __future__ import annotations

from accounts import services


def issue_key(user, *, name: str = "test token", days: int | None = None) -> str:
    return services.token_create(user=user, actor=user, name=name, expires_in_days=days).key
