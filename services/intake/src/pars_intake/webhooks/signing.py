"""Standard Webhooks signing (pure): the `whsec_` secrets and the three headers of a delivery.

A secret is `whsec_` + base64 of 32 random bytes; the signature is `v1,` + base64 of the
HMAC-SHA256, keyed with the secret's decoded bytes, of `{webhook-id}.{webhook-timestamp}.{body}`.
While a rotated secret is still honoured, the header carries one signature per secret, space
separated, as the specification allows: a receiver that has not switched yet still verifies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()).decode()


def headers(secrets_: list[str], webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one attempt: the same `webhook-id` on every attempt (receivers dedupe on
    it), the attempt's own timestamp (receivers refuse old ones), a signature per live secret."""
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(signature(s, webhook_id, timestamp, body) for s in secrets_),
            "content-type": "application/json"}
