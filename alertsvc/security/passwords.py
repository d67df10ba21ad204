"""Console users' passwords: Argon2id hashes (via argon2-cffi) and generated passwords.

Users themselves (creating them, signing them in, lock-out) are :mod:`alertsvc.security.users`, the one module
that reads and writes the ``users`` table; this module only turns passwords into hashes and checks them.
"""

from __future__ import annotations

import functools
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@functools.cache
def _hasher() -> PasswordHasher:
    # Deferred: argon2-cffi loads at the first password checked, not in every API process at import.
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError  # loaded by _hasher() already

    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(18)
