"""Residents' answers from the links in their messages: the acknowledgement page finds the alert a link speaks for,
what holds now for it (read by the caller's ``state_of``, e.g. :func:`alertsvc.alerts.thread.thread_state`, which
this layer may not import) and the resident's language, in one read; when the resident pressed a button, it records
their answer unless that state closes answers (a cancelled alert: nothing is left to answer, so nothing is recorded).

**Group commit** (:class:`AnswerBatcher`, :mod:`alertsvc.store.group_commit`). A life-safety alert brings thousands
of answers within minutes, and a transaction each held the route to 150-220 a second (bench/README.md). So the
reads are the request's own, and its answer joins the batch being gathered: one transaction records a batch
(:func:`alertsvc.tracking.acks.record_answers`: one upsert by the unique key, one webhook event an answer), and
:func:`acknowledge` returns only once that batch has committed, so the page's "recorded" (a 200) still means
recorded. The answer is taken against the state read just before: a Cancel committed in the milliseconds between
that read and the batch does not refuse an answer the resident gave to the alert as it stood.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.clock import utcnow
from alertsvc.errors import Kind
from alertsvc.store.group_commit import GroupCommit, PerProcess, in_flight_for
from alertsvc.store.models import Alert, Resident
from alertsvc.tracking.acks import AckRefused, AckTarget, Answer, GivenAnswer, record_answers, target_of_delivery

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = [
    "MAX_BATCH",
    "AlertNow",
    "AnswerBatcher",
    "AnswerRefused",
    "Answered",
    "Open",
    "acknowledge",
    "answer_batcher",
]

MAX_BATCH = 1000
"""Answers recorded in one transaction at most: a batch of rows and webhook events this size holds SQLite's writer
for some milliseconds; larger would not make an answer cheaper, only the batch's requests wait longer."""


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
    async with runtime.sessions() as session:  # reads only: the answer is recorded by the group commit
        target = await target_of_delivery(session, delivery_id, now)
        state = await state_of(session, target.alert)
        resident = await session.get(Resident, target.resident_id)
    answered = Answered(
        target,
        state,
        resident.language if resident is not None else None,
        resident.timezone if resident is not None else None,
    )
    if answer is None:
        return answered
    if state.answers_closed:
        raise AnswerRefused(answered)
    ref = resident.ref if resident is not None else None
    given = GivenAnswer(target.alert.id, target.resident_id, str(ref) if ref is not None else None, answer, "link", now)
    await answer_batcher(runtime).submit(given)
    return answered


class AnswerBatcher(GroupCommit[GivenAnswer, None]):
    """Group commit of residents' answers for one process's database (see the module's docstring)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(self._apply, in_flight_for(runtime.engine.dialect.name), MAX_BATCH, "answers")
        self._runtime = runtime

    async def _apply(self, given: Sequence[GivenAnswer]) -> list[None]:
        await self._runtime.write(record_answers, given)
        return [None] * len(given)


_BATCHERS: PerProcess[async_sessionmaker[AsyncSession], AnswerBatcher] = PerProcess()


def answer_batcher(runtime: Runtime) -> AnswerBatcher:
    """This process's batcher of answers for the runtime's database (made on first use, on the running loop)."""
    return _BATCHERS.get(runtime.sessions, lambda: AnswerBatcher(runtime))
