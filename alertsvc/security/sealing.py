"""A contact (phone number, e-mail address) kept so that it can be matched and written to, never read by staff.

An anonymous tipster's number is stored twice, and never in the clear: a keyed HMAC-SHA256 of it (:meth:`Sealer.
key_of`), which finds the tipster's later SMS answers and their block without anything to reverse, and an AES-GCM
sealed copy (:meth:`Sealer.seal`), which only the reply relay opens to send a staff reply. Both keys are derived
with HKDF from the service's secret key (``ALERTSVC_SECRET_KEY``), each for its own purpose, so a database dump
alone yields neither numbers nor a way to test guesses. Changing the secret key makes earlier sealed contacts
unreadable (their threads can no longer be answered) and earlier tipsters unmatched: by design, as for signed
links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["Sealer"]

NONCE_BYTES = 12
"""AES-GCM's standard nonce, random per seal: at the volumes of tips a collision is out of reach."""
VERSION = "v1"
"""A sealed value's prefix, so a later scheme can sit beside this one."""


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"alertsvc " + purpose).derive(secret.encode())


class Sealer:
    """Keys one purpose (``purpose``, e.g. ``"tips"``) of the service's secret key."""

    def __init__(self, secret: str, purpose: str) -> None:
        self._hash_key = _derive(secret, purpose.encode() + b" contact key")
        self._aead = AESGCM(_derive(secret, purpose.encode() + b" contact seal"))
        self._aad = purpose.encode()

    def key_of(self, contact: str) -> str:
        """The contact's keyed hash (64 hex digits): equal for equal contacts, reversible by nobody."""
        return hmac.new(self._hash_key, contact.encode(), hashlib.sha256).hexdigest()

    def seal(self, contact: str) -> str:
        """The contact encrypted and authenticated, as text for a column."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, contact.encode(), self._aad)
        return f"{VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str) -> str | None:
        """The contact inside ``sealed``; None when this key did not seal it (another secret key, or altered):
        nothing can be sent to it then."""
        version, _, text = sealed.partition(":")
        if version != VERSION:
            return None
        try:
            raw = base64.urlsafe_b64decode(text.encode())
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._aad).decode()
        except (InvalidTag, ValueError):
            return None
