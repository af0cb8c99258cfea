"""The Standard Webhooks signature (https://www.standardwebhooks.com/): one home for signing and verifying.

Used by every signed webhook the product sends (the incident webhooks of `incidents/services/webhooks.py`
and the companies' event webhooks of `webhooks/`) and by the tests and docs as the receiver's check.
A secret is ``whsec_`` + base64 of its key bytes; a signature is ``v1,`` + base64 of HMAC-SHA256 over
``"<webhook-id>.<webhook-timestamp>.<body>"``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"


def secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 over "id.timestamp.body">`, the key being the secret's base64 part."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers_signed(
    *, secret: str, message_id: str, body: str, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers of a signed message (and its content type), signed now unless told otherwise."""
    moment = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(moment),
        "webhook-signature": sign(secret=secret, message_id=message_id, timestamp=moment, body=body),
    }


def verify(*, secret: str, headers: Mapping[str, str], body: str, tolerance: int = 300) -> bool:
    """What a receiver does: check the timestamp window and any of the listed v1 signatures."""
    try:
        timestamp = int(headers["webhook-timestamp"])
        message_id = headers["webhook-id"]
        signatures = headers["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = sign(secret=secret, message_id=message_id, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
