"""Residents' answers from the links in their messages: the acknowledgement page finds the alert a link speaks for,
what holds now for it (read by the caller's ``state_of``, e.g. :func:`alertsvc.alerts.thread.thread_state`, which
this layer may not import) and the resident's language, in one read; when the resident pressed a button, it records
their answer unless that state closes answers (a cancelled alert: nothing is left to answer, so nothing is recorded).

**Group commit** (:class:`AnswerBatcher`, :mod:`alertsvc.store.group_commit`). A life-safety alert brings thousands
of answers within minutes, and a transaction each (two reads for the link, the thread's state, the resident, the
upsert, the resident's ref again, the webhook event) held the route to 150-220 a second (bench/README.md). So an
answer joins the batch being gathered, and ONE transaction takes a whole batch (:func:`answer_many`): the links'
deliveries, alerts and residents read together, each alert's state read once, the answers recorded by one upsert by
the unique key (:func:`alertsvc.tracking.acks.record_answers`) with a webhook event each. :func:`acknowledge`
returns only once that batch has committed, so the page's "recorded" (a 200) still means recorded, and an answer is
still checked against its alert's state in the transaction that records it (a Cancel committed before refuses it).
The page alone (no answer) is a read of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.clock import utcnow
from alertsvc.errors import Kind
from alertsvc.store.group_commit import GroupCommit, PerProcess, in_flight_for
from alertsvc.store.models import Alert, Resident
from alertsvc.tracking.acks import (
    AckRefused,
    AckTarget,
    Answer,
    GivenAnswer,
    record_answers,
    refusal,
    target_of_delivery,
    targets_of_deliveries,
)

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = [
    "MAX_BATCH",
    "AlertNow",
    "AnswerBatcher",
    "AnswerRefused",
    "Answered",
    "Open",
    "Pending",
    "acknowledge",
    "answer_batcher",
    "answer_many",
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
    if answer is not None:
        outcome = await answer_batcher(runtime).submit(Pending(delivery_id, answer, state_of, now))
        if isinstance(outcome, AckRefused):  # raised here, in the request, not in the batch that found it
            raise outcome
        return outcome
    async with runtime.sessions() as session:  # the page alone: reads only, nothing recorded
        target = await target_of_delivery(session, delivery_id, now)
        state = await state_of(session, target.alert)
        resident = await session.get(Resident, target.resident_id)
    return _answered(target, state, resident)


def _answered(target: AckTarget, state: Any, resident: Resident | None) -> Answered[Any]:
    return Answered(
        target,
        state,
        resident.language if resident is not None else None,
        resident.timezone if resident is not None else None,
    )


@dataclass(frozen=True, slots=True)
class Pending:
    """One answer waiting for its batch: the link's delivery, the answer, how the caller reads the alert's state,
    and when the resident gave it."""

    delivery_id: int
    answer: Answer
    state_of: Callable[[AsyncSession, Alert], Awaitable[Any]]
    at: datetime


Outcome = Answered[Any] | AckRefused
"""What became of one answer: recorded (with what the page shows), or refused (raised by its own request)."""


async def answer_many(session: AsyncSession, pending: Sequence[Pending]) -> list[Outcome]:
    """A batch of answers in the caller's transaction, each as :func:`acknowledge` would take it alone, in order:
    each link's delivery, alert and resident read at once (:func:`~alertsvc.tracking.acks.targets_of_deliveries`,
    one read of residents), each alert's state read once however many answer it, the answers the state leaves open
    recorded together (:func:`~alertsvc.tracking.acks.record_answers`); the others' refusals returned."""
    targets = await targets_of_deliveries(session, [one.delivery_id for one in pending])
    resident_ids = sorted({target.resident_id for target in targets.values()})
    residents = {
        resident.id: resident
        for resident in await session.scalars(select(Resident).where(Resident.id.in_(resident_ids)))
    }
    states: dict[tuple[int, str], Any] = {}
    outcomes: list[Outcome] = []
    given: list[GivenAnswer] = []
    for one in pending:
        target = targets.get(one.delivery_id)
        refused = refusal(target, one.at)
        if refused is not None or target is None:
            outcomes.append(refused or AckRefused("this link is not valid"))
            continue
        key = (id(one.state_of), target.alert.id)
        if key not in states:
            states[key] = await one.state_of(session, target.alert)
        resident = residents.get(target.resident_id)
        answered = _answered(target, states[key], resident)
        if answered.state.answers_closed:
            outcomes.append(AnswerRefused(answered))
            continue
        ref = str(resident.ref) if resident is not None and resident.ref is not None else None
        given.append(GivenAnswer(target.alert.id, target.resident_id, ref, one.answer, "link", one.at))
        outcomes.append(answered)
    await record_answers(session, given)
    return outcomes


class AnswerBatcher(GroupCommit[Pending, Outcome]):
    """Group commit of residents' answers for one process's database (see the module's docstring). On an SQLite
    file a batch runs on the writer thread (:meth:`alertsvc.runtime.Runtime.write`), its reads included, with no
    hand-off to aiosqlite's thread a statement."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(self._apply, in_flight_for(runtime.engine.dialect.name), MAX_BATCH, "answers")
        self._runtime = runtime

    async def _apply(self, pending: Sequence[Pending]) -> list[Outcome]:
        return await self._runtime.write(answer_many, pending)


_BATCHERS: PerProcess[async_sessionmaker[AsyncSession], AnswerBatcher] = PerProcess()


def answer_batcher(runtime: Runtime) -> AnswerBatcher:
    """This process's batcher of answers for the runtime's database (made on first use, on the running loop)."""
    return _BATCHERS.get(runtime.sessions, lambda: AnswerBatcher(runtime))
