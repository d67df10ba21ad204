"""Console users and their passwords (Argon2id, via argon2-cffi)."""

from __future__ import annotations

import functools
import secrets
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


async def create_user(session: AsyncSession, email: str, role: Role, password: str, actor: str) -> User:
    """Add a console user; the e-mail is normalised and must be unique."""
    try:
        normalized = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"invalid e-mail address: {exc}") from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if await session.scalar(select(User).where(User.email == normalized)) is not None:
        raise ValueError("a user with that e-mail exists already")
    user = User(email=normalized, password_hash=hash_password(password), role=role.value)
    session.add(user)
    await session.flush()
    await record(session, actor, "user.create", "user", str(user.id), {"role": role.value})
    return user
