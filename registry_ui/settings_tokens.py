"""API token settings (the `accounts` app), read from the environment; listed in README's configuration table.

A new token expires after API_TOKEN_DEFAULT_DAYS unless its creator asks for another period, at most
API_TOKEN_MAX_DAYS; a token's last use is written at most once per API_TOKEN_LAST_USED_EVERY_SECONDS (one
UPDATE a minute per busy token, not one per request).
"""

from __future__ import annotations

from typing import Any


def token_settings(env: Any) -> dict[str, Any]:
    return {
        "API_TOKEN_DEFAULT_DAYS": env.int("API_TOKEN_DEFAULT_DAYS", default=90),
        "API_TOKEN_MAX_DAYS": env.int("API_TOKEN_MAX_DAYS", default=366),
        "API_TOKEN_LAST_USED_EVERY_SECONDS": env.int("API_TOKEN_LAST_USED_EVERY_SECONDS", default=60),
    }
