"""Console users and their passwords (Argon2id, via argon2-cffi)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.security.audit import record
from alertsvc.security.scopes import Role
from alertsvc.store.models import User

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
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
