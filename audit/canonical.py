"""The canonical form of an audit event and its hash (the chain's format; see services.py for the scheme).

Each event's `hash` is HMAC-SHA256 (hex), under a sub-key of settings.AUDIT_CHAIN_KEY (see keys.py), over
the canonical JSON (sorted keys, no spaces, UTF-8) of {seq, at, actor, action, object_type, object_id, data,
prev_hash}; the first event's prev_hash is GENESIS (64 zeros). Events written before the key existed are plain
SHA-256 over the same JSON.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
import json
import math
import uuid
from pathlib import PurePath
from typing import Any

from django.utils import timezone

from audit import keys

GENESIS = "0" * 64
FIELDS = ("seq", "at", "actor", "action", "object_type", "object_id", "data", "prev_hash", "hash")
HASHED_FIELDS = FIELDS[:-1]  # everything but the hash itself


def normalise(value: Any) -> Any:
    """Plain JSON data that survives a round trip through jsonb (PostgreSQL) and JSON text (SQLite) unchanged.

    datetimes/dates → ISO-8601 strings, Decimals → floats, UUIDs/paths → strings, tuples/sets → lists,
    non-finite floats → "NaN"/"Infinity"/"-Infinity", -0.0 → 0.0 and floats too large for a short repr → ints
    (jsonb prints numbers in full, which would come back as ints), NUL characters (refused by jsonb) → U+FFFD.
    """
    if value is None or isinstance(value, bool | str | int):
        return value.replace("\x00", "\ufffd") if isinstance(value, str) else value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value == 0:
            return 0.0
        if value.is_integer() and abs(value) >= 1e16:
            return int(value)
        return value
    if isinstance(value, decimal.Decimal):
        return normalise(float(value))
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | PurePath):
        return str(value)
    if isinstance(value, dict):
        return {
            str(normalise(k)) if not isinstance(k, str) else normalise(k): normalise(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((normalise(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    raise TypeError(f"audit data must be JSON-serialisable; got {type(value).__name__}: {value!r}")


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def format_at(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _message(fields: dict) -> bytes:
    payload = {name: fields[name] for name in HASHED_FIELDS}
    payload["at"] = format_at(payload["at"])
    return canonical_json(payload).encode("utf-8")


def compute_hash(**fields) -> str:
    """The keyed hash of one event, from its HASHED_FIELDS (`at` a datetime)."""
    return hmac.digest(keys.chain_key(), _message(fields), "sha256").hex()


def compute_legacy_hash(**fields) -> str:
    """The unkeyed hash of events written before the key existed (plain SHA-256 of the same JSON)."""
    return hashlib.sha256(_message(fields)).hexdigest()
