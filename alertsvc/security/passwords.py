"""Console users and their passwords (Argon2id, via argon2-cffi): the one place users are created.

The command line (``alertsvc users create``, ``alertsvc demo``) and the console's admin page all create users
here, so the rules (a valid, unique e-mail; a long enough password; a display name that fits) are the same
whichever way a person is added, and every creation leaves an audit row.
"""

from __future__ import annotations

import functools
import secrets
import unicodedata
from typing import TYPE_CHECKING

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.security.audit import record
from alertsvc.security.scopes import Role
from alertsvc.store.models import User

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_PASSWORD_LENGTH = 12
MAX_DISPLAY_NAME_LENGTH = 120
"""The width of ``users.display_name`` (migration 0004)."""
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


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


def clean_display_name(name: str | None) -> str | None:
    """``name`` trimmed, or None when blank (the person is then shown by e-mail); ValueError when it cannot be stored.

    Control characters and bidirectional overrides are refused rather than stripped: a name is shown in lists,
    approvals and the audit log, where a line break, an escape sequence or reversed text could forge what a
    reader sees. (Joiners such as U+200D stay allowed: some scripts and names need them.)
    """
    if name is None or not name.strip():
        return None
    cleaned = name.strip()
    if len(cleaned) > MAX_DISPLAY_NAME_LENGTH:
        raise ValueError(f"display name must be at most {MAX_DISPLAY_NAME_LENGTH} characters")
    if any(unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS for ch in cleaned):
        raise ValueError("display name must not contain control characters")
    return cleaned


def _normalized_email(email: str) -> str:
    try:
        return str(validate_email(email, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise ValueError(f"invalid e-mail address: {exc}") from None


async def create_user(
    session: AsyncSession, email: str, role: Role, password: str, actor: str, *, display_name: str | None = None
) -> User:
    """Add a console user; the e-mail is normalised and must be unique, the display name is optional."""
    normalized = _normalized_email(email)
    name = clean_display_name(display_name)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if await session.scalar(select(User).where(User.email == normalized)) is not None:
        raise ValueError("a user with that e-mail exists already")
    user = User(email=normalized, display_name=name, password_hash=hash_password(password), role=role.value)
    session.add(user)
    await session.flush()
    await record(session, actor, "user.create", "user", str(user.id), {"role": role.value})
    return user


async def ensure_user(session: AsyncSession, email: str, role: Role, display_name: str, actor: str) -> str | None:
    """Create the user with a generated password unless one with this e-mail exists.

    Returns the new password (for the caller to show once, never to log), or None when the user was there
    already: an existing account, its password and its role are never touched, so re-running a setup step
    cannot lock anyone out.
    """
    if await session.scalar(select(User.id).where(User.email == _normalized_email(email))) is not None:
        return None
    password = generate_password()
    await create_user(session, email, role, password, actor, display_name=display_name)
    return password
