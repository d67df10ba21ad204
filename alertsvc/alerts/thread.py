"""The newest state of an alert's thread: the alert, the Updates and the Cancel that reference it (CAP
``references``), so that a resident's page shows what holds now, not what was first sent.

A thread is every alert linked to another by ``references``, both ways: an Update names the alert it replaces, a
Cancel names the alert (or Update) it cancels, and a resident may hold the link of any of them. Only follow-ups
that have gone out (approved or later) count: a pending Update is not yet true for anyone.

The read works on a session the caller's unit of work owns (:func:`alertsvc.tracking.answers.acknowledge` passes
:func:`thread_state` in, so the page's state and the recorded answer come from one transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.alerts.states import AlertState
from alertsvc.cap.times import CapTimeError, parse_cap_time
from alertsvc.cap.values import split_reference
from alertsvc.store.models import Alert

__all__ = ["Notice", "ThreadState", "follow_ups", "info_for", "referenced_by", "thread_state"]

FOLLOW_UPS_SCANNED: Final = 500
"""At most this many later Updates and Cancels are read to find an alert's follow-ups (a thread has a handful)."""
ANCESTORS_FOLLOWED: Final = 20
"""At most this many steps back along ``references`` to the thread's first alert (a guard against loops)."""
GONE_OUT: Final = frozenset({AlertState.APPROVED, AlertState.DISPATCHING, AlertState.SENT, AlertState.EXPIRED})
"""States of a follow-up that residents have been (or are being) told of; ``cancelled`` counts when it went out."""

Key = tuple[str, str, datetime]


@dataclass(frozen=True, slots=True)
class Notice:
    """The text a resident reads of one alert of the thread, in their language (empty strings when absent)."""

    headline: str
    description: str
    instruction: str
    event: str
    language: str


@dataclass(frozen=True, slots=True)
class ThreadState:
    """What holds now for the alert a resident's link names.

    ``newest`` is the newest alert of the thread that went out, a Cancel aside (the alert itself when nothing
    followed): its text is what was last in force;
    ``cancelled`` when a Cancel went out in the thread (``cancel`` is that Cancel) or the alert was withdrawn."""

    alert: Alert
    newest: Alert
    cancel: Alert | None
    members: tuple[Alert, ...]

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None or self.alert.state == AlertState.CANCELLED or self.alert.msg_type == "Cancel"

    @property
    def updated(self) -> bool:
        """An Update newer than the alert itself went out (and the thread is not cancelled)."""
        return not self.cancelled and self.newest.id != self.alert.id and self.newest.msg_type == "Update"

    @property
    def answers_closed(self) -> bool:
        """A cancelled alert takes no more answers: there is nothing left to be safe from."""
        return self.cancelled

    def notice(self, language: str) -> Notice:
        """The newest text in ``language``: the Update's, or the alert's own."""
        return _notice(self.newest.cap, language)

    def all_clear(self, language: str) -> Notice | None:
        """The Cancel's own text in ``language``, or None when it has none of its own (a Cancel that copies what
        it cancels, as CAP senders often do, must not be read as an instruction that still holds)."""
        cancel = self.cancel or (self.alert if self.alert.msg_type == "Cancel" else None)
        if cancel is None:
            return None
        own = _notice(cancel.cap, language)
        others = [_notice(member.cap, language) for member in self.members if member.id != cancel.id]
        if not own.headline and not own.description:
            return None
        if any((own.headline, own.description) == (other.headline, other.description) for other in others):
            return None
        repeated = own.instruction and any(own.instruction == other.instruction for other in others)
        return Notice(own.headline, own.description, "" if repeated else own.instruction, own.event, own.language)


def info_for(cap: dict[str, Any], language: str) -> dict[str, Any]:
    """The ``info`` a reader of ``language`` gets: exact tag, then primary subtag, then the first (as fan-out)."""
    infos: list[dict[str, Any]] = [info for info in cap.get("info") or [] if isinstance(info, dict)]
    if not infos:
        return {}
    wanted = language.lower()
    for info in infos:
        if str(info.get("language") or "en-US").lower() == wanted:
            return info
    primary = wanted.split("-", 1)[0]
    for info in infos:
        if str(info.get("language") or "en-US").lower().split("-", 1)[0] == primary:
            return info
    return infos[0]


def _notice(cap: dict[str, Any], language: str) -> Notice:
    info = info_for(cap, language)
    return Notice(
        headline=str(info.get("headline") or ""),
        description=str(info.get("description") or ""),
        instruction=str(info.get("instruction") or ""),
        event=str(info.get("event") or ""),
        language=str(info.get("language") or "en-US"),
    )


def _utc(text: str) -> datetime | None:
    try:
        return parse_cap_time(text).astimezone(UTC)
    except CapTimeError:
        return None


def _key(alert: Alert) -> Key | None:
    sent = _utc(alert.sent_text)
    return (alert.sender, alert.identifier, sent) if sent is not None else None


def _references(alert: Alert) -> list[Key]:
    keys: list[Key] = []
    for token in str(alert.cap.get("references") or "").split():
        parts = split_reference(token)
        sent = _utc(parts[2]) if parts else None
        if parts and sent is not None:
            keys.append((parts[0], parts[1], sent))
    return keys


async def _referenced(session: AsyncSession, key: Key) -> Alert | None:
    sender, identifier, _sent = key
    for candidate in await session.scalars(select(Alert).where(Alert.sender == sender, Alert.identifier == identifier)):
        if _key(candidate) == key:
            return candidate
    return None


async def _ancestors(session: AsyncSession, alert: Alert) -> list[Alert]:
    found: dict[str, Alert] = {}
    pending = [alert]
    while pending and len(found) < ANCESTORS_FOLLOWED:
        current = pending.pop()
        for key in _references(current):
            earlier = await _referenced(session, key)
            if earlier is not None and earlier.id not in found and earlier.id != alert.id:
                found[earlier.id] = earlier
                pending.append(earlier)
    return list(found.values())


def _aware(value: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; every stored one is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _went_out(alert: Alert) -> bool:
    return alert.state in GONE_OUT or alert.dispatch_started_at is not None


async def thread_state(session: AsyncSession, alert: Alert) -> ThreadState:
    """The thread of ``alert`` as it stands: its ancestors by ``references``, then every later Update and Cancel
    that references a member, in creation order (so a chain resolves in one pass)."""
    members: dict[str, Alert] = {alert.id: alert}
    for earlier in await _ancestors(session, alert):
        members[earlier.id] = earlier
    start = min(member.created_at for member in members.values())
    keys = {key for key in (_key(member) for member in members.values()) if key is not None}
    later = await session.scalars(
        select(Alert)
        .where(Alert.created_at >= start, Alert.msg_type.in_(("Update", "Cancel")))
        .order_by(Alert.created_at, Alert.id)
        .limit(FOLLOW_UPS_SCANNED)
    )
    for candidate in later:
        if candidate.id in members or not keys.intersection(_references(candidate)):
            continue
        members[candidate.id] = candidate
        key = _key(candidate)
        if key is not None:
            keys.add(key)
    out = [member for member in members.values() if member.id == alert.id or _went_out(member)]
    texts = [member for member in out if member.msg_type != "Cancel"] or [alert]
    newest = max(texts, key=lambda member: (_aware(member.sent_at), _aware(member.created_at)))
    cancels = [member for member in out if member.msg_type == "Cancel" and member.id != alert.id]
    cancel = max(cancels, key=lambda member: member.created_at) if cancels else None
    return ThreadState(alert=alert, newest=newest, cancel=cancel, members=tuple(members.values()))


async def referenced_by(session: AsyncSession, alert: Alert) -> list[Alert]:
    """The alerts ``alert`` names in its ``references`` (what an Update replaces, what a Cancel cancels), stored
    ones only, in the order it names them."""
    found: list[Alert] = []
    for key in _references(alert):
        earlier = await _referenced(session, key)
        if earlier is not None and earlier.id != alert.id and all(earlier.id != seen.id for seen in found):
            found.append(earlier)
    return found


async def follow_ups(session: AsyncSession, alert: Alert) -> list[Alert]:
    """Every later Update and Cancel that references ``alert``, or references one of those (an Update's Cancel),
    in creation order: what the console lists as "updated by" and "cancelled by" on the alert's page. Rejected
    ones included (the caller decides what to show); the alert itself never."""
    keys = {key for key in (_key(alert),) if key is not None}
    found: list[Alert] = []
    later = await session.scalars(
        select(Alert)
        .where(Alert.created_at >= alert.created_at, Alert.msg_type.in_(("Update", "Cancel")), Alert.id != alert.id)
        .order_by(Alert.created_at, Alert.id)
        .limit(FOLLOW_UPS_SCANNED)
    )
    for candidate in later:
        if not keys.intersection(_references(candidate)):
            continue
        found.append(candidate)
        key = _key(candidate)
        if key is not None:
            keys.add(key)
    return found
