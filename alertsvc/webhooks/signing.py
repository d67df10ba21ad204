"""The signature on every webhook request, so a receiver can prove it came from us and is fresh.

``X-Alertsvc-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``. The timestamp is signed
with the body, so a captured request cannot be replayed later than the receiver's tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Alertsvc-Signature"
DEFAULT_TOLERANCE_S = 300


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, tolerance_s: int = DEFAULT_TOLERANCE_S) -> bool:
    """What a receiver does (and what our tests do): check the HMAC and the age."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        stamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs(time.time() - stamp) > tolerance_s:
        return False
    expected = sign(secret, body, stamp).split("v1=", 1)[1]
    return hmac.compare_digest(given.encode(), expected.encode())  # bytes: a non-ASCII header is False, not a crash
