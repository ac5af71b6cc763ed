"""One HMAC scheme for webhooks both ways: MLflow's (3.3+ registry webhooks), which this app verifies on
`/webhooks/mlflow/` and uses to sign the events it sends out (API.md).

A delivery carries three headers, named by a prefix (`X-MLflow-...` inbound, `X-Registry-...` outbound):
`<prefix>-Delivery-Id`, `<prefix>-Timestamp` (Unix seconds) and `<prefix>-Signature`, which is
`v1,<base64 HMAC-SHA256 of "{delivery_id}.{timestamp}.{raw body}">` under the shared secret. During a secret
rotation the signature header may hold several space-separated signatures; one matching is enough.

The verifier checks in API.md's order: headers and signature (401), then the timestamp window (400). The body
is the caller's business.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

MAX_DELIVERY_ID = 128


@dataclass(frozen=True)
class Scheme:
    """The header names of one side: `prefix` is "X-MLflow" or "X-Registry"."""

    prefix: str

    @property
    def delivery_id(self) -> str:
        return f"{self.prefix}-Delivery-Id"

    @property
    def timestamp(self) -> str:
        return f"{self.prefix}-Timestamp"

    @property
    def signature(self) -> str:
        return f"{self.prefix}-Signature"


MLFLOW = Scheme("X-MLflow")  # what MLflow sends us
REGISTRY = Scheme("X-Registry")  # what this app sends its subscribers


class SignatureError(Exception):
    """A delivery that does not verify: `status` 401 (signature) or 400 (timestamp), `detail` a sentence."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Verified:
    delivery_id: str
    timestamp: int


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """MLflow's signature: v1,<base64 HMAC-SHA256 of "{delivery_id}.{timestamp}.{raw body}">."""
    signed = delivery_id.encode() + b"." + timestamp.encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    scheme: Scheme, secret: str, delivery_id: str, body: bytes, *, now: float | None = None
) -> dict[str, str]:
    """The three headers of a delivery of `body`, signed now."""
    timestamp = str(int(time.time() if now is None else now))
    return {
        scheme.delivery_id: delivery_id,
        scheme.timestamp: timestamp,
        scheme.signature: sign(secret, delivery_id, timestamp, body),
    }


def signature_matches(header: str, expected: str) -> bool:
    # The sender may send several space-separated signatures during secret rotation.
    return any(hmac.compare_digest(candidate, expected) for candidate in header.split())


def verify(
    scheme: Scheme,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    max_skew_seconds: int,
    now: float | None = None,
) -> Verified:
    """The delivery's id and timestamp when its headers verify; SignatureError (401 or 400) when not."""
    delivery_id = headers.get(scheme.delivery_id, "")
    timestamp = headers.get(scheme.timestamp, "")
    signature = headers.get(scheme.signature, "")
    if not (delivery_id and timestamp and signature) or len(delivery_id) > MAX_DELIVERY_ID:
        raise SignatureError(
            401, f"Missing or malformed {scheme.signature}, {scheme.timestamp} or {scheme.delivery_id}."
        )
    if not signature_matches(signature, sign(secret, delivery_id, timestamp, body)):
        raise SignatureError(401, "Invalid webhook signature.")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError(400, f"{scheme.timestamp} must be a Unix timestamp in seconds.") from None
    if abs((time.time() if now is None else now) - sent) > max_skew_seconds:
        raise SignatureError(400, f"{scheme.timestamp} is more than {max_skew_seconds} s away.")
    return Verified(delivery_id=delivery_id, timestamp=sent)
