"""API keys: made once, shown once, stored as SHA-256.

Keys are 256-bit random values, so a fast hash is the right tool (unlike passwords, they cannot be guessed from a
dictionary); a keyed lookup by hash means a stolen database does not hand out working keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.security.audit import record
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope, parse_scopes
from alertsvc.store.db import transaction
from alertsvc.store.models import ApiKey

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

KEY_PREFIX = "as_"


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


async def authenticate(session: AsyncSession, presented: str) -> Principal | None:
    """The principal for a presented key, or None for an unknown or revoked one."""
    digest = hash_key(presented)
    key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, digest):
        return None
    key.last_used_at = utcnow()
    return Principal(name=f"key:{key.name}", scopes=parse_scopes(key.scopes))


async def authenticate_key(runtime: Runtime, presented: str) -> Principal | None:
    """:func:`authenticate` as one unit of work (the API's key check on every request): it records the key's use."""
    async with transaction(runtime.sessions) as session:
        return await authenticate(session, presented)


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
