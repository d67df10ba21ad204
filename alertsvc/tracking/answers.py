"""Residents' answers from the links in their messages, as one unit of work each (the convention is in
:mod:`alertsvc.runtime`): the acknowledgement page finds the alert a link speaks for, what holds now for it (read by
the caller's ``state_of``, e.g. :func:`alertsvc.alerts.thread.thread_state`, which this layer may not import) and
the resident's language; when the resident pressed a button, it records their answer in the same transaction,
unless that state closes answers (a cancelled alert: nothing is left to answer, so nothing is recorded).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.errors import Kind
from alertsvc.store.db import transaction
from alertsvc.store.models import Alert, Resident
from alertsvc.tracking.acks import AckRefused, AckTarget, Answer, record_answer, target_of_delivery

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["AlertNow", "AnswerRefused", "Answered", "Open", "acknowledge"]


class AlertNow(Protocol):
    """What the caller's state read tells this module: whether answers are still taken."""

    @property
    def answers_closed(self) -> bool: ...


StateT = TypeVar("StateT", bound=AlertNow)


@dataclass(frozen=True, slots=True)
class Open:
    """The state of a caller that reads no thread: answers are taken while the alert has not expired."""

    answers_closed: bool = False


async def _open(_session: AsyncSession, _alert: Alert) -> Open:
    return Open()


@dataclass(frozen=True, slots=True)
class Answered(Generic[StateT]):
    """The link's alert and resident, the alert's state now, and the resident's stored language (None: unset) and
    time zone (an IANA name; None: unknown), so the page says times as the resident lives them."""

    target: AckTarget
    state: StateT
    language: str | None
    timezone: str | None = None


class AnswerRefused(AckRefused, Generic[StateT]):
    """An answer to an alert whose state closes answers (it was cancelled); nothing was recorded. It carries what
    the page shows instead."""

    kind = Kind.GONE

    def __init__(self, answered: Answered[StateT]) -> None:
        super().__init__("this alert was cancelled; answers are no longer collected")
        self.answered = answered


@overload
async def acknowledge(runtime: Runtime, delivery_id: int, answer: Answer | None) -> Answered[Open]: ...


@overload
async def acknowledge(
    runtime: Runtime,
    delivery_id: int,
    answer: Answer | None,
    state_of: Callable[[AsyncSession, Alert], Awaitable[StateT]],
) -> Answered[StateT]: ...


async def acknowledge(
    runtime: Runtime,
    delivery_id: int,
    answer: Answer | None,
    state_of: Callable[[AsyncSession, Alert], Awaitable[Any]] = _open,
) -> Answered[Any]:
    """The alert, state and resident of a delivery's link; with an ``answer``, it is recorded (``via`` link),
    replacing an earlier one. :class:`~alertsvc.tracking.acks.AckRefused` when the delivery is unknown or the alert
    expired; :class:`AnswerRefused` (recording nothing) when ``answer`` is given and the state closes answers."""
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        target = await target_of_delivery(session, delivery_id, now)
        state = await state_of(session, target.alert)
        resident = await session.get(Resident, target.resident_id)
        answered = Answered(
            target,
            state,
            resident.language if resident is not None else None,
            resident.timezone if resident is not None else None,
        )
        refused = answer is not None and state.answers_closed
        if answer is not None and not refused:
            await record_answer(session, target.alert.id, target.resident_id, answer, "link", now)
    if refused:  # raised once the read-only unit has ended: a rollback would expire what the page shows
        raise AnswerRefused(answered)
    return answered
