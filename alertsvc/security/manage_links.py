"""The token of a resident's manage link (``/r/manage/{token}``): who, in which link epoch, made when; signed.

A manage link opens a resident's preferences without a password, so unlike the acknowledgement and unsubscribe
tokens (:mod:`alertsvc.security.links`, which die with their alert or only ever opt out) it must expire and be
revocable. The token carries the resident's id, the resident's link epoch when it was made
(``residents.manage_link_epoch``, raised to void every older link) and the minute it was made; whether that is
still good is decided by :mod:`alertsvc.residents.manage_links` against the row and the setting. Short for SMS,
like the other links: the three numbers in base 36 and a 96-bit HMAC-SHA256 tag (about 30 characters).

A token of the first format (``{id}.{tag}``, made by ``LinkSigner(secret, "manage")`` before links expired) is
recognised by :meth:`ManageLinkSigner.legacy_resident`, so its reader is told that it expired, in their language.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from alertsvc.security.links import BadToken, LinkSigner

__all__ = ["ManageLinkSigner", "ManageToken"]

TAG_BYTES = 12
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
MAX_LENGTH = 80


@dataclass(frozen=True, slots=True)
class ManageToken:
    """What a genuine manage token says."""

    resident_id: int
    epoch: int
    issued_at: datetime


def _b36(number: int) -> str:
    if number == 0:
        return "0"
    out = []
    while number:
        number, rest = divmod(number, 36)
        out.append(DIGITS[rest])
    return "".join(reversed(out))


def _number(text: str) -> int:
    if not text or len(text) > 13 or any(c not in DIGITS for c in text):  # 36**13 > 2**63
        raise BadToken("invalid link")
    value = int(text, 36)
    if value >= 2**63:
        raise BadToken("invalid link")
    return value


class ManageLinkSigner:
    """Makes and reads manage tokens with a key of their own (a purpose no other token shares)."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"alertsvc-link:manage-epoch", hashlib.sha256).digest()
        self._legacy = LinkSigner(secret, "manage")

    def _tag(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:TAG_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, resident_id: int, epoch: int, issued_at: datetime) -> str:
        minutes = (issued_at - EPOCH) // timedelta(minutes=1)
        if not 0 <= resident_id < 2**63 or not 0 <= epoch < 2**63 or minutes < 0:
            raise ValueError("ids and epochs are 64-bit, times after 1970")
        body = f"{_b36(resident_id)}.{_b36(epoch)}.{_b36(minutes)}"
        return f"{body}.{self._tag(body)}"

    def unsign(self, token: str) -> ManageToken:
        """What ``token`` says; :class:`BadToken` when it is not one of ours of this format."""
        if len(token) > MAX_LENGTH or not token.isascii():
            raise BadToken("invalid link")
        parts = token.split(".")
        if len(parts) != 4:
            raise BadToken("invalid link")
        body, tag = ".".join(parts[:3]), parts[3]
        if not hmac.compare_digest(tag, self._tag(body)):
            raise BadToken("invalid link")
        resident_id, epoch, minutes = (_number(part) for part in parts[:3])
        if minutes > 2**40:  # never made by sign(): some two million years on
            raise BadToken("invalid link")
        return ManageToken(resident_id, epoch, EPOCH + timedelta(minutes=minutes))

    def legacy_resident(self, token: str) -> int | None:
        """The resident of a genuine first-format token (which never expired), or None."""
        try:
            return self._legacy.unsign(token)
        except BadToken:
            return None
