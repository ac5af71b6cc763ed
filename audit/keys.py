"""The audit key (settings.AUDIT_CHAIN_KEY, never in the database) and the sub-keys derived from it.

One secret, three independent uses (HMAC-SHA256 over a label, so knowing one sub-key reveals nothing of the
others or of the secret): sealing events, signing checkpoints, and a public key id that says which key made a
checkpoint without revealing it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from django.conf import settings


class MissingKey(RuntimeError):
    pass


@functools.lru_cache(maxsize=8)
def _derive(secret: str) -> tuple[bytes, bytes, str]:
    master = secret.encode("utf-8")

    def sub(label: bytes) -> bytes:
        return hmac.digest(master, label, hashlib.sha256)

    return sub(b"audit-chain/v1"), sub(b"audit-checkpoint/v1"), sub(b"audit-key-id/v1").hex()[:16]


def configured() -> bool:
    return bool(getattr(settings, "AUDIT_CHAIN_KEY", ""))


def _secret() -> str:
    secret = getattr(settings, "AUDIT_CHAIN_KEY", "")
    if not secret:
        raise MissingKey("AUDIT_CHAIN_KEY is not set: the audit chain cannot be sealed or verified.")
    return secret


def chain_key() -> bytes:
    return _derive(_secret())[0]


def checkpoint_key() -> bytes:
    return _derive(_secret())[1]


def key_id() -> str:
    return _derive(_secret())[2]
