"""Short signed tokens for the links residents tap: acknowledge (``/a/{token}``) and unsubscribe (``/u/{token}``).

Written here rather than with itsdangerous because SMS length is money: a token is the id in base 36, a dot, and
a 96-bit HMAC-SHA256 tag in base64url (about 22 characters in all), where itsdangerous' full signature alone is
43. Each purpose has its own derived key, so an acknowledgement token can never be replayed as an unsubscribe
token. Expiry is not in the token: an acknowledgement token names a delivery, and the delivery's alert says when
it expires, so the link dies with the alert.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from alertsvc.errors import NotFound

TAG_BYTES = 12
LONGEST_TOKEN = 13 + 1 + 16
"""A token's longest form: a 64-bit id in base 36 (13 digits), the dot, the 12-byte tag in unpadded base64url."""


class BadToken(NotFound):
    """A token that was not made by us, or not for this purpose."""


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if number == 0:
        return "0"
    out = []
    while number:
        number, rest = divmod(number, 36)
        out.append(digits[rest])
    return "".join(reversed(out))


class LinkSigner:
    """Makes and checks tokens for one purpose (``"ack"``, ``"unsubscribe"``, ...)."""

    def __init__(self, secret: str, purpose: str) -> None:
        self._key = hmac.new(secret.encode(), f"alertsvc-link:{purpose}".encode(), hashlib.sha256).digest()

    def _tag(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:TAG_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, ident: int) -> str:
        if not 0 <= ident < 2**63:
            raise ValueError("ids are 64-bit database ids")
        body = _b36(ident)
        return f"{body}.{self._tag(body)}"

    def unsign(self, token: str) -> int:
        if len(token) > 64 or not token.isascii():  # ours are base 36 and base64url; compare_digest takes ASCII
            raise BadToken("invalid link")
        body, _, tag = token.partition(".")
        if not body or not tag or not hmac.compare_digest(tag, self._tag(body)):
            raise BadToken("invalid link")
        try:
            value = int(body, 36)
        except ValueError:
            raise BadToken("invalid link") from None
        if value >= 2**63:  # never made by sign() for a database id
            raise BadToken("invalid link")
        return value
