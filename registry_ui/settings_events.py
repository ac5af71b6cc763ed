"""Outbound events settings (the `events` app), read from the environment; listed in README's configuration table.

Deliveries go only to public addresses, checked when staff subscribe and again at each delivery after DNS
resolution, unless the host is named in OUTBOUND_ALLOWED_HOSTS (exact host names or IP literals, comma-separated:
a receiver inside the network, the demo's own). Each delivery has short timeouts, keeps at most
OUTBOUND_EXCERPT_BYTES of the answer, and is tried OUTBOUND_MAX_ATTEMPTS times, the n-th retry after
OUTBOUND_BACKOFF_SECONDS × 2^(n-1) (at most OUTBOUND_MAX_BACKOFF_SECONDS); then it is failed, and staff may
replay it.
"""

from __future__ import annotations

from typing import Any


def outbound_settings(env: Any) -> dict[str, Any]:
    return {
        "OUTBOUND_ALLOWED_HOSTS": env.list("OUTBOUND_ALLOWED_HOSTS", default=[]),
        "OUTBOUND_TIMEOUT_SECONDS": env.float("OUTBOUND_TIMEOUT_SECONDS", default=5.0),
        "OUTBOUND_EXCERPT_BYTES": env.int("OUTBOUND_EXCERPT_BYTES", default=1024),
        "OUTBOUND_MAX_ATTEMPTS": env.int("OUTBOUND_MAX_ATTEMPTS", default=6),
        "OUTBOUND_BACKOFF_SECONDS": env.float("OUTBOUND_BACKOFF_SECONDS", default=10.0),
        "OUTBOUND_MAX_BACKOFF_SECONDS": env.float("OUTBOUND_MAX_BACKOFF_SECONDS", default=600.0),
    }
