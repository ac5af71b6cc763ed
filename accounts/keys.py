"""API token keys: made here, shown once, and only their SHA-256 digest is stored.

The same idea as django-rest-knox: a random key, a short non-secret lookup prefix to find the row, a digest
compared in constant time. A key holds 256 random bits, so a fast hash is enough (a slow password hash guards
guessable secrets; nobody guesses 2^256). New keys start with `rgt_` so secret scanners and people recognise
them; keys issued before hashing (DRF's 40 hex characters) were hashed the same way by a migration.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "rgt_"
LOOKUP_LENGTH = 12  # the first characters of a key, stored to find its row (not enough to use it)
MAX_KEY_LENGTH = 200


def new_key() -> str:
    return KEY_PREFIX + secrets.token_hex(32)


def lookup_of(key: str) -> str:
    return key[:LOOKUP_LENGTH]


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def matches(key: str, digest: str) -> bool:
    return hmac.compare_digest(digest_of(key), digest)
