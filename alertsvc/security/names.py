"""People and keys by name: what the pages show for the principal names the alerts and the audit log keep.

The alerts table (``submitted_by``, ``decided_by``) and the audit log (``actor``) keep the principal's stable name,
``user:ID``, ``key:NAME``, ``system``, ``resident`` or ``anonymous`` (:mod:`alertsvc.security.principal`): an id
survives a change of name and never puts an e-mail address in the append-only log. A reader wants the person:
this module turns those names into a :class:`Actor`, with the user's display name (``alertsvc users create
--name``, the admin page), else their e-mail address, read from ``users`` in one query for a whole page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.store.models import User

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["Actor", "actor_for", "actors", "named"]

USER_PREFIX: Final = "user:"
KEY_PREFIX: Final = "key:"
PLAIN_KINDS: Final = frozenset({"system", "resident", "anonymous"})
"""Principal names that are already what a reader is told (translated by the page)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a principal name stands for: ``kind`` is ``user``, ``key``, ``system``, ``resident``, ``anonymous`` or
    ``other`` (a name this service does not write, shown as it is); ``name`` is what a reader sees."""

    principal: str
    kind: str
    name: str


def _user_id(principal: str) -> int | None:
    if not principal.startswith(USER_PREFIX):
        return None
    digits = principal[len(USER_PREFIX) :]
    return int(digits) if digits.isdigit() and len(digits) < 19 else None


def actor_for(principal: str, users: dict[int, str] | None = None) -> Actor:
    """The :class:`Actor` of one principal name, given ``users`` (id → the name to show) already read."""
    user_id = _user_id(principal)
    if user_id is not None:
        found = (users or {}).get(user_id)
        return Actor(principal, "user", found) if found else Actor(principal, "other", principal)
    if principal.startswith(KEY_PREFIX) and len(principal) > len(KEY_PREFIX):
        return Actor(principal, "key", principal[len(KEY_PREFIX) :])
    if principal in PLAIN_KINDS:
        return Actor(principal, principal, principal)
    return Actor(principal, "other", principal)


async def actors(session: AsyncSession, principals: Iterable[str | None]) -> dict[str, Actor]:
    """Each distinct principal name → its :class:`Actor`, the users among them read in one query."""
    wanted = {principal for principal in principals if principal}
    ids = {user_id for user_id in map(_user_id, wanted) if user_id is not None}
    users: dict[int, str] = {}
    if ids:
        rows = await session.execute(select(User.id, User.display_name, User.email).where(User.id.in_(sorted(ids))))
        users = {int(user_id): (display or email) for user_id, display, email in rows}
    return {principal: actor_for(principal, users) for principal in wanted}


async def named(runtime: Runtime, principals: Iterable[str | None]) -> dict[str, Actor]:
    """:func:`actors` as a unit of work of its own, for a page that has its rows already."""
    async with runtime.sessions() as session:
        return await actors(session, principals)
