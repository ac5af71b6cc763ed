"""Outbound events settings (the `events` app), read from the environment; listed in README's configuration table.

Deliveries go only to public addresses, checked when staff subscribe and again at each delivery after DNS
resolution, unless the host is named in OUTBOUND_ALLOWED_HOSTS (exact host names or IP literals, comma-separated:
a receiver inside the network, the demo's own). Each delivery has short timeouts, keeps at most
OUTBOUND_EXCERPT_BYTES of the answer, and is tried OUTBOUND_MAX_ATTEMPTS times, the n-th retry after
OUTBOUND_BACKOFF_SECONDS × 2^(n-1) (at most OUTBOUND_MAX_BACKOFF_SECONDS); then it is failed, and staff may
replay it.

Subscription secrets are stored sealed under OUTBOUND_SECRETS_KEY (events.sealing), which never lives in the
database: like AUDIT_CHAIN_KEY, required (32+ characters) when DEBUG is off, and generated once into a 0600 file
under VAR_DIR for the local demo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from registry_ui.settings_support import local_key, refuse_short_key

SECRETS_KEY = "OUTBOUND_SECRETS_KEY"


def outbound_secrets_key(env: Any, *, debug: bool, var_dir: Path) -> str:
    key = env.str(SECRETS_KEY, default="")
    if not debug:
        refuse_short_key(SECRETS_KEY, key)
    elif not key:
        key = local_key(var_dir / "outbound-secrets.key", SECRETS_KEY)
    return key


def outbound_settings(env: Any, *, debug: bool, var_dir: Path) -> dict[str, Any]:
    return {
        "OUTBOUND_SECRETS_KEY": outbound_secrets_key(env, debug=debug, var_dir=var_dir),
        "OUTBOUND_ALLOWED_HOSTS": env.list("OUTBOUND_ALLOWED_HOSTS", default=[]),
        "OUTBOUND_TIMEOUT_SECONDS": env.float("OUTBOUND_TIMEOUT_SECONDS", default=5.0),
        "OUTBOUND_EXCERPT_BYTES": env.int("OUTBOUND_EXCERPT_BYTES", default=1024),
        "OUTBOUND_MAX_ATTEMPTS": env.int("OUTBOUND_MAX_ATTEMPTS", default=6),
        "OUTBOUND_BACKOFF_SECONDS": env.float("OUTBOUND_BACKOFF_SECONDS", default=10.0),
        "OUTBOUND_MAX_BACKOFF_SECONDS": env.float("OUTBOUND_MAX_BACKOFF_SECONDS", default=600.0),
    }
