"""Signing console users in: password check, lock-out after repeated failures, and the user's principal.

Every failed sign-in looks the same from outside, whatever the cause (no such user, wrong password, account
locked or deactivated): same message, and the same Argon2 work, because an unknown e-mail is checked against a
dummy hash. Otherwise the answer or its timing would tell an attacker which addresses have accounts.

Lock-out: ``login_max_failures`` wrong passwords in a row lock the account for ``login_lock_minutes``; while locked
even the right password is refused (and not counted). The counter moves in one ``UPDATE ... SET n = n + 1``, so
parallel guesses cannot slip past the limit; a successful sign-in resets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.security.audit import record
from alertsvc.security.passwords import hash_password, verify_password
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import ROLE_SCOPES, Role
from alertsvc.store.models import User


class LoginOutcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    """Unknown user, wrong password, locked or deactivated: deliberately one outcome."""


@dataclass(frozen=True, slots=True)
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A real Argon2 hash of nothing anyone knows, so unknown users cost the same verification as known ones."""
    return hash_password("alertsvc-no-such-user-placeholder")


def normalise_email(email: str) -> str | None:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def principal_for(user: User) -> Principal:
    """A user's principal: ``user:ID`` in the audit log, and the scopes of their role."""
    return Principal(name=f"user:{user.id}", scopes=ROLE_SCOPES[Role(user.role)])


def is_locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


async def authenticate(
    session: AsyncSession, email: str, password: str, now: datetime, max_failures: int, lock_minutes: int
) -> LoginResult:
    """Check a sign-in attempt and update the failure counter; the caller commits."""
    normalised = normalise_email(email)
    user = await session.scalar(select(User).where(User.email == normalised)) if normalised else None
    password_ok = verify_password(user.password_hash if user else _dummy_hash(), password)
    if user is None:
        return LoginResult(LoginOutcome.FAILED)
    if not user.active or is_locked(user, now):
        await record(session, f"user:{user.id}", "user.login_refused", "user", str(user.id), {})
        return LoginResult(LoginOutcome.FAILED)
    if password_ok:
        user.failed_logins = 0
        user.locked_until = None
        await record(session, f"user:{user.id}", "user.login", "user", str(user.id), {})
        return LoginResult(LoginOutcome.OK, user)
    await _count_failure(session, user, now, max_failures, lock_minutes)
    return LoginResult(LoginOutcome.FAILED)


async def _count_failure(
    session: AsyncSession, user: User, now: datetime, max_failures: int, lock_minutes: int
) -> None:
    failures = await session.scalar(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    )
    await record(session, f"user:{user.id}", "user.login_failed", "user", str(user.id), {"failures": failures})
    if failures is not None and failures >= max_failures:
        await session.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=0, locked_until=now + timedelta(minutes=lock_minutes))
            .execution_options(synchronize_session=False)
        )
        await record(session, "system", "user.locked", "user", str(user.id), {"minutes": lock_minutes})


async def active_user(session: AsyncSession, user_id: int) -> User | None:
    """The signed-in user, if still there and active (a deactivated user's session ends at once)."""
    user = await session.get(User, user_id)
    return user if user is not None and user.active else None
