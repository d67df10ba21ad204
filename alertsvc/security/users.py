"""Console users, the one module that reads and writes the ``users`` table: creating them, signing them in with
lock-out, the signed-in user, and the admin's list.

The command line (``alertsvc users create``, ``alertsvc demo``) and the console's admin page all create users here,
so the rules (a valid, unique e-mail; a long enough password; a display name that fits) are the same whichever way
a person is added, and every creation leaves an audit row. Passwords are hashed in :mod:`alertsvc.security.passwords`.

Every failed sign-in looks the same from outside, whatever the cause (no such user, wrong password, account
locked or deactivated): same answer (None), and the same Argon2 work, because an unknown e-mail is checked against
a dummy hash. Otherwise the answer or its timing would tell an attacker which addresses have accounts.

Lock-out: ``login_max_failures`` wrong passwords in a row lock the account for ``login_lock_minutes``; while locked
even the right password is refused (and not counted). The counter moves in one ``UPDATE ... SET n = n + 1``, so
parallel guesses cannot slip past the limit; a successful sign-in resets it. A sign-in for an address with no
account is audited too, as ``user.login_failed`` of an ``unknown account`` (never the address typed: it may be a
person's, or their password typed into the wrong field), so a run of guesses at addresses shows in the log.

Ending sessions: signing out, a new password, a new role and deactivation move ``session_epoch`` on, in the same
``UPDATE`` as the change, and the console signs out every cookie carrying an older one
(:mod:`alertsvc.security.sessions` says why an epoch rather than a table of sessions).

The functions that take the :class:`~alertsvc.runtime.Runtime` are what routers call, each one unit of work (the
convention is in :mod:`alertsvc.runtime`); those that take a session are its building blocks and the command line's.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.security.audit import record
from alertsvc.security.passwords import generate_password, hash_password, verify_password
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import ROLE_SCOPES, Role
from alertsvc.store.db import transaction
from alertsvc.store.models import User

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = [
    "MAX_DISPLAY_NAME_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "Account",
    "active_account",
    "add_user",
    "authenticate",
    "change_password",
    "clean_display_name",
    "create_user",
    "ensure_user",
    "list_users",
    "normalise_email",
    "principal_for",
    "set_user_active",
    "set_user_role",
    "sign_in",
    "sign_out",
]

MIN_PASSWORD_LENGTH = 12
MAX_DISPLAY_NAME_LENGTH = 120
"""The width of ``users.display_name`` (migration 0004)."""
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True, slots=True)
class Account:
    """A user as a signed-in page needs them: plain values, no row held past the unit of work."""

    id: int
    email: str
    role: Role
    principal: Principal
    session_epoch: int = 0
    """Sessions signed in at an older epoch are over (:mod:`alertsvc.security.sessions`)."""
    display_name: str | None = None
    """The name the console shows the person by (else their e-mail address)."""


def principal_for(user: User) -> Principal:
    """A user's principal: ``user:ID`` in the audit log, and the scopes of their role."""
    return Principal(name=f"user:{user.id}", scopes=ROLE_SCOPES[Role(user.role)])


def _account(user: User) -> Account:
    return Account(
        id=user.id, email=user.email, role=Role(user.role), principal=principal_for(user),
        session_epoch=user.session_epoch or 0, display_name=user.display_name,
    )  # fmt: skip


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


def normalise_email(email: str) -> str | None:
    """The address as stored, or None when it is not one (sign-in: an unknown user, not an error)."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


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


async def add_user(
    runtime: Runtime, email: str, role: Role, password: str, actor: str, *, display_name: str | None = None
) -> None:
    """:func:`create_user` as one unit of work (the console's admin page); ValueError says what is wrong."""
    async with transaction(runtime.sessions) as session:
        await create_user(session, email, role, password, actor, display_name=display_name)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A real Argon2 hash of nothing anyone knows, so unknown users cost the same verification as known ones."""
    return hash_password("alertsvc-no-such-user-placeholder")


def _is_locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


async def authenticate(
    session: AsyncSession, email: str, password: str, now: datetime, max_failures: int, lock_minutes: int
) -> Account | None:
    """Check a sign-in attempt and move the failure counter; the account, or None (see the module docstring)."""
    normalised = normalise_email(email)
    user = await session.scalar(select(User).where(User.email == normalised)) if normalised else None
    password_ok = verify_password(user.password_hash if user else _dummy_hash(), password)
    if user is None:
        await record(session, "anonymous", "user.login_failed", "user", None, {"account": "unknown"})
        return None
    if not user.active or _is_locked(user, now):
        await record(session, f"user:{user.id}", "user.login_refused", "user", str(user.id), {})
        return None
    if password_ok:
        user.failed_logins = 0
        user.locked_until = None
        await record(session, f"user:{user.id}", "user.login", "user", str(user.id), {})
        return _account(user)
    await _count_failure(session, user, now, max_failures, lock_minutes)
    return None


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


async def sign_in(runtime: Runtime, email: str, password: str) -> Account | None:
    """A sign-in attempt as one unit of work, with the service's lock-out settings; the account, or None."""
    settings = runtime.settings
    async with transaction(runtime.sessions) as session:
        return await authenticate(
            session, email, password, utcnow(), settings.login_max_failures, settings.login_lock_minutes
        )


async def active_account(runtime: Runtime, user_id: int) -> Account | None:
    """The signed-in user, if still there and active (a deactivated user's session ends at once)."""
    async with runtime.sessions() as session:
        user = await session.get(User, user_id)
        return _account(user) if user is not None and user.active else None


async def list_users(runtime: Runtime) -> list[User]:
    """Every console user, by e-mail (rows fully loaded: they are read after the session has closed)."""
    async with runtime.sessions() as session:
        return list(await session.scalars(select(User).order_by(User.email)))


async def set_user_active(runtime: Runtime, user_id: int, active: bool, actor: str) -> bool:
    """Deactivate (or reactivate) a user; their open sessions end at their next request, and stay ended when the
    account is reactivated (the epoch moved on). True if it changed."""
    async with transaction(runtime.sessions) as session:
        result = await session.execute(
            update(User)
            .where(User.id == user_id, User.active.is_not(active))
            .values(active=active, failed_logins=0, locked_until=None, session_epoch=User.session_epoch + 1)
            .execution_options(synchronize_session=False)
        )
        changed = bool(getattr(result, "rowcount", 0))
        if changed:
            action = "user.activate" if active else "user.deactivate"
            await record(session, actor, action, "user", str(user_id), {})
        return changed


async def set_user_role(runtime: Runtime, user_id: int, role: Role, actor: str) -> bool:
    """Give a user another role; their open sessions end at once (they sign in again under the new role, and a
    copied cookie does not carry the old one on). True if the role changed."""
    async with transaction(runtime.sessions) as session:
        before = await session.scalar(select(User.role).where(User.id == user_id))
        if before is None or before == role.value:
            return False
        result = await session.execute(
            update(User)
            .where(User.id == user_id, User.role == before)
            .values(role=role.value, session_epoch=User.session_epoch + 1)
            .execution_options(synchronize_session=False)
        )
        changed = bool(getattr(result, "rowcount", 0))
        if changed:
            await record(session, actor, "user.role_change", "user", str(user_id), {"from": before, "to": role.value})
        return changed


async def sign_out(runtime: Runtime, user_id: int, epoch: int) -> bool:
    """End every session of the user signed in at ``epoch`` (the signing-out cookie's): the epoch moves on, so a
    copy of the cookie stops working too. A cookie whose epoch has passed already changes nothing. Audited as
    ``user.logout``; True if sessions ended."""
    async with transaction(runtime.sessions) as session:
        result = await session.execute(
            update(User)
            .where(User.id == user_id, User.session_epoch == epoch)
            .values(session_epoch=User.session_epoch + 1)
            .execution_options(synchronize_session=False)
        )
        ended = bool(getattr(result, "rowcount", 0))
        if ended:
            await record(session, f"user:{user_id}", "user.logout", "user", str(user_id), {})
        return ended


async def change_password(runtime: Runtime, user_id: int, current: str, new: str) -> int | None:
    """Set a signed-in user's new password after checking their current one; every session of theirs ends.

    Returns the new session epoch (the caller re-issues the session it was asked from, so the person who changed
    the password stays signed in there and nowhere else), or None when ``current`` is wrong: that counts as a
    failed sign-in, so a borrowed session cannot guess the password without limit. ValueError for a new password
    that is too short.
    """
    if len(new) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    settings = runtime.settings
    async with transaction(runtime.sessions) as session:
        user = await session.get(User, user_id)
        if user is None or not user.active:
            return None
        now = utcnow()
        if _is_locked(user, now):
            return None
        if not verify_password(user.password_hash, current):
            await _count_failure(session, user, now, settings.login_max_failures, settings.login_lock_minutes)
            return None
        epoch = await session.scalar(
            update(User)
            .where(User.id == user_id)
            .values(password_hash=hash_password(new), session_epoch=User.session_epoch + 1)
            .returning(User.session_epoch)
            .execution_options(synchronize_session=False)
        )
        await record(session, f"user:{user_id}", "user.password_change", "user", str(user_id), {})
        return int(epoch or 0)
