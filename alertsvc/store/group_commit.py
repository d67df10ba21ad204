"""Group commit: many requests' small writes applied together, each request answered once its batch committed.

Why: a transaction a request (a few statements and a commit, each a round trip or a turn of SQLite's one writer)
held the status callbacks and the residents' answers to a few hundred a second (bench/README.md). Here each
request's item joins the batch being gathered; a few tasks apply one batch each, in ONE transaction, and every
request of the batch is answered only once that transaction has committed, so a 2xx still means "recorded" and a
crash loses only requests not yet answered. Nothing waits on a timer: while one batch commits the next gathers, so
an idle service applies an item at once, alone, and a busy one in batches as large as the commit is slow (up to
``max_batch``). A batch that fails is applied again item by item, each in its own transaction, so one bad item (or
a deadlock between two processes' batches on PostgreSQL) fails only its own request.

The users: :class:`alertsvc.tracking.callbacks.ReceiptBatcher` (provider receipts) and
:mod:`alertsvc.tracking.answers` (residents' answers). Each says how a batch is applied (``apply``: the items in,
one outcome an item out, in order) and keeps one batcher per process and database (:class:`PerProcess`).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
OutcomeT = TypeVar("OutcomeT")
KeyT = TypeVar("KeyT")
BatcherT = TypeVar("BatcherT", bound="GroupCommit[Any, Any]")

IN_FLIGHT_POSTGRESQL = 4
"""Batches a process may have in flight at once on PostgreSQL. One would leave the process idle while each batch's
statements and commit travel to the server and back (92 callbacks a second at 9 % of a core in bench/README.md's
first run); a few keep it busy, and still group whatever arrives while they are out. SQLite has one writer: there
one batch at a time, the next gathering."""


def in_flight_for(dialect: str) -> int:
    """How many batches to apply at once on ``dialect`` (see :data:`IN_FLIGHT_POSTGRESQL`)."""
    return 1 if dialect == "sqlite" else IN_FLIGHT_POSTGRESQL


class GroupCommit(Generic[ItemT, OutcomeT]):
    """Items applied in batches by ``apply``; :meth:`submit` returns an item's outcome once its batch committed."""

    def __init__(
        self,
        apply: Callable[[Sequence[ItemT]], Awaitable[Sequence[OutcomeT]]],
        in_flight: int,
        max_batch: int,
        what: str = "items",
    ) -> None:
        self._apply_batch = apply
        self._in_flight = in_flight
        self._max_batch = max_batch
        self._what = what
        self._loop = asyncio.get_running_loop()
        self._gathering: list[tuple[ItemT, asyncio.Future[OutcomeT]]] = []
        self._appliers: set[asyncio.Task[None]] = set()
        """Strong references to the applier tasks (the loop keeps only weak ones); pruned a turn after each ends."""
        self._applying = 0
        """Appliers still inside their loop. Counted by the appliers themselves, not by ``_appliers``: a task's
        done callback runs a turn after it ends, and a request submitted in that turn saw the set full, started no
        applier and waited forever (with one batch in flight, SQLite's case, every request after it did too)."""
        self.batches = 0
        """Transactions committed so far (tests and the benchmark read it to see that items were grouped)."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop this batcher serves (its futures and tasks belong to it)."""
        return self._loop

    async def submit(self, item: ItemT) -> OutcomeT:
        """Add ``item`` to the batch being gathered; its outcome, once its batch has committed (or the exception
        that applying it alone raised)."""
        future: asyncio.Future[OutcomeT] = self._loop.create_future()
        self._gathering.append((item, future))
        if self._applying < self._in_flight:
            self._applying += 1
            applier = self._loop.create_task(self._apply_while_gathered())
            self._appliers.add(applier)
            applier.add_done_callback(self._appliers.discard)
        # Shielded: a client that hangs up does not take its item out of a batch already being applied.
        return await asyncio.shield(future)

    async def _apply_while_gathered(self) -> None:
        try:
            await self._apply_gathered()
        finally:
            # No await between the loop's last look at ``_gathering`` and this: an item added after it starts an
            # applier of its own.
            self._applying -= 1

    async def _apply_gathered(self) -> None:
        while self._gathering:
            cut = self._max_batch
            batch, self._gathering = self._gathering[:cut], self._gathering[cut:]
            try:
                outcomes = await self._apply_counted([item for item, _ in batch])
            except asyncio.CancelledError:
                # The process is stopping: nobody of this batch or the next is told "recorded" (their transaction
                # rolls back), so they are sent again.
                for _, future in batch + self._gathering:
                    future.cancel()
                self._gathering = []
                raise
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exc)
                    continue
                log.warning(
                    "a batch of %d %s failed (%s): applying each alone", len(batch), self._what, type(exc).__name__
                )
                await self._apply_each(batch)
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                _settle(future, outcome)

    async def _apply_counted(self, items: Sequence[ItemT]) -> Sequence[OutcomeT]:
        outcomes = await self._apply_batch(items)
        self.batches += 1
        return outcomes

    async def _apply_each(self, batch: list[tuple[ItemT, asyncio.Future[OutcomeT]]]) -> None:
        for item, future in batch:
            try:
                outcome = (await self._apply_counted([item]))[0]
            except Exception as exc:
                _settle(future, exc)
            else:
                _settle(future, outcome)


def _settle(future: asyncio.Future[OutcomeT], outcome: OutcomeT | BaseException) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class PerProcess(Generic[KeyT, BatcherT]):
    """One batcher per key (a database's session factory) and running loop, made on first use.

    Weakly keyed, so a closed runtime's batcher goes with it; remade when the loop changed (tests run one loop a
    test, and a batcher's futures belong to the loop that made them)."""

    def __init__(self) -> None:
        self._made: weakref.WeakKeyDictionary[KeyT, BatcherT] = weakref.WeakKeyDictionary()

    def get(self, key: KeyT, make: Callable[[], BatcherT]) -> BatcherT:
        """The batcher for ``key`` on the running loop, ``make()`` when there is none yet."""
        batcher = self._made.get(key)
        if batcher is None or batcher.loop is not asyncio.get_running_loop():
            batcher = self._made[key] = make()
        return batcher
