"""API keys: made once, shown once, stored as SHA-256.

Keys are 256-bit random values, so a fast hash is the right tool (unlike passwords, they cannot be guessed from a
dictionary); a keyed lookup by hash means a stolen database does not hand out working keys.

**Last use, to the minute.** Every API request checks its key, and recording ``last_used_at`` on each was a write
transaction a request (9-13 % of a create's server time, and on SQLite as much again waiting for the writer's turn:
bench/README.md, "Answers and creates"). The console's keys page needs the last use to the minute, not to the
microsecond, so :func:`authenticate_key` is a read, and writes the time only when the one stored (and the one this
process last wrote, kept in memory) is :data:`LAST_USE_STEP` old: at most once a minute a key and process. The write
is one guarded ``UPDATE ... WHERE last_used_at < now - 1 minute`` (:func:`record_use`), so several API processes
seeing the same stale time write it once between them, and a process's requests arriving together write it once
(the memo is claimed before the write).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.clock import utcnow
from alertsvc.security.audit import record
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope, parse_scopes
from alertsvc.store.db import transaction
from alertsvc.store.models import ApiKey

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

KEY_PREFIX = "as_"

LAST_USE_STEP = timedelta(minutes=1)
"""How stale a key's stored ``last_used_at`` may grow before a request writes it again (the console shows it to the
minute)."""

_LAST_WRITTEN: weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], dict[int, datetime]] = (
    weakref.WeakKeyDictionary()
)
"""Per database (its session factory) of this process: each key id's last use this process wrote or began to
write. Weakly keyed, so a closed runtime's memo goes with it."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(session: AsyncSession, name: str, scopes: frozenset[Scope], actor: str) -> str:
    """Store a new key and return its plain value (the only time it exists outside the caller's hands)."""
    if not name.strip():
        raise ValueError("a key needs a name")
    existing = await session.scalar(select(ApiKey).where(ApiKey.name == name))
    if existing is not None:
        raise ValueError(f"an API key named {name!r} exists already")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, key_hash=hash_key(plain), scopes=",".join(sorted(scopes)))
    session.add(key)
    await session.flush()
    await record(session, actor, "api_key.create", "api_key", str(key.id), {"name": name, "scopes": key.scopes})
    return plain


@dataclass(frozen=True, slots=True)
class PresentedKey:
    """A key found by its hash, in use: who it speaks for, and the last use stored for it."""

    id: int
    principal: Principal
    last_used_at: datetime | None


async def find_key(session: AsyncSession, presented: str) -> PresentedKey | None:
    """The key presented, or None for an unknown or revoked one; one read of its columns, nothing written."""
    digest = hash_key(presented)
    row = (
        await session.execute(
            select(
                ApiKey.id, ApiKey.name, ApiKey.key_hash, ApiKey.scopes, ApiKey.revoked_at, ApiKey.last_used_at
            ).where(ApiKey.key_hash == digest)
        )
    ).one_or_none()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return PresentedKey(row.id, Principal(name=f"key:{row.name}", scopes=parse_scopes(row.scopes)), row.last_used_at)


async def record_use(session: AsyncSession, key_id: int, now: datetime) -> bool:
    """Set the key's ``last_used_at`` to ``now`` unless it is less than :data:`LAST_USE_STEP` old, in one guarded
    statement (so processes that read the same stale time write it once); True if this call wrote it."""
    result = await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USE_STEP),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def _claim_use(sessions: async_sessionmaker[AsyncSession], key: PresentedKey, now: datetime) -> bool:
    """Whether this request should write the key's use: neither the stored time nor this process's last write is
    recent. Claimed at once (before any await), so the process's other requests for the key skip it."""
    written = _LAST_WRITTEN.setdefault(sessions, {})
    known = [when for when in (key.last_used_at, written.get(key.id)) if when is not None]
    if known and now - max(known) < LAST_USE_STEP:
        return False
    written[key.id] = now
    return True


async def authenticate_key(runtime: Runtime, presented: str) -> Principal | None:
    """The principal for a presented key, or None for an unknown or revoked one (the API's key check on every
    request). A read; the key's use is written at most once a minute (see the module's docstring)."""
    async with runtime.sessions() as session:
        key = await find_key(session, presented)
    if key is None:
        return None
    now = utcnow()
    if _claim_use(runtime.sessions, key, now):
        try:  # once a minute: an ordinary transaction (the SQLite writer thread is for the frequent writes)
            async with transaction(runtime.sessions) as session:
                await record_use(session, key.id, now)
        except BaseException:
            written = _LAST_WRITTEN.get(runtime.sessions, {})
            if written.get(key.id) == now:  # not written: the next request tries again
                del written[key.id]
            raise
    return key.principal


async def revoke_key(session: AsyncSession, name: str, actor: str) -> bool:
    key = await session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    await record(session, actor, "api_key.revoke", "api_key", str(key.id), {"name": name})
    return True


async def list_api_keys(runtime: Runtime) -> list[ApiKey]:
    """Every key, the ones in use first, by name (values are never stored, so none is shown)."""
    async with runtime.sessions() as session:
        return list(await session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.name)))


async def add_api_key(runtime: Runtime, name: str, scopes: frozenset[Scope], actor: str) -> str:
    """:func:`create_key` as one unit of work (the console's admin page); ValueError says what is wrong."""
    async with transaction(runtime.sessions) as session:
        return await create_key(session, name, scopes, actor)


async def revoke_api_key(runtime: Runtime, name: str, actor: str) -> bool:
    """:func:`revoke_key` as one unit of work; True if the key was in use until now."""
    async with transaction(runtime.sessions) as session:
        return await revoke_key(session, name, actor)
