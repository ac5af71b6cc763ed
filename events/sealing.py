"""Subscription secrets sealed at rest under settings.OUTBOUND_SECRETS_KEY (never in the database).

Whoever reads or writes the database must not be able to sign a delivery a receiver would trust: the row holds
only `v1.<key id>.<base64url(nonce ‖ AES-256-GCM ciphertext)>`, the subscription's id bound as associated data,
so a sealed secret copied onto another subscription's row does not open. The AES key and the public key id are
derived from the setting (HMAC-SHA256 over a label, as audit.keys does), so any 32+ random characters serve and
the key id tells which key sealed a row without revealing it. The worker opens a secret only to sign a delivery
(events.sending); opening that fails raises `Unsealable` with a sentence for the delivery log.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

VERSION = "v1"
NONCE_BYTES = 12
SETTING = "OUTBOUND_SECRETS_KEY"


class Unsealable(Exception):
    """A secret that cannot be sealed or opened here; str() is a sentence for the delivery log."""


@functools.lru_cache(maxsize=8)
def _derive(master: str) -> tuple[bytes, str]:
    def sub(label: bytes) -> bytes:
        return hmac.digest(master.encode("utf-8"), label, hashlib.sha256)

    return sub(b"events-subscription-secret/v1"), sub(b"events-subscription-key-id/v1").hex()[:16]


def _key() -> tuple[bytes, str]:
    master = getattr(settings, SETTING, "")
    if not master:
        raise Unsealable(f"{SETTING} is not set on this worker, so no subscription secret can be opened.")
    return _derive(master)


def key_id() -> str:
    """The configured key's public id (what a sealed secret names)."""
    return _key()[1]


def _associated(subscription_id: int) -> bytes:
    return f"events.subscription:{subscription_id}".encode()


def seal(secret: str, subscription_id: int) -> str:
    """The stored form of `secret` for this subscription: only this key opens it, for this subscription only."""
    key, kid = _key()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, secret.encode("utf-8"), _associated(subscription_id))
    return f"{VERSION}.{kid}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def unseal(stored: str, subscription_id: int) -> str:
    """The plaintext secret of this subscription; Unsealable with the reason when it does not open."""
    version, _, rest = (stored or "").partition(".")
    kid, _, blob = rest.partition(".")
    try:
        raw = base64.urlsafe_b64decode(blob.encode()) if version == VERSION and kid else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) <= NONCE_BYTES:
        raise Unsealable(
            f"Subscription #{subscription_id}'s stored secret is not a sealed secret (it was altered in the "
            "database): create the subscription again."
        )
    key, configured = _key()
    if not hmac.compare_digest(kid, configured):
        raise Unsealable(
            f"Subscription #{subscription_id}'s secret was sealed under another {SETTING} (key id {kid[:16]}, "
            f"this worker's is {configured}): set the key it was sealed with, then replay the delivery."
        )
    try:
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated(subscription_id))
    except InvalidTag:
        raise Unsealable(
            f"Subscription #{subscription_id}'s secret does not open under {SETTING}: it was altered or copied "
            "from another subscription in the database. Create the subscription again."
        ) from None
    return plain.decode("utf-8")
