"""Twilio status callbacks → the delivery state machine's provider receipts, applied by group commit.

This module reads Twilio's words (``MessageStatus``, ``ErrorCode``); the move itself, its guard, and the
keeping of a receipt that arrives before its send is recorded are :mod:`alertsvc.tracking.machine`'s.

**Group commit** (:class:`ReceiptBatcher`, one per API process and database). A large alert brings two or three
callbacks a message, thousands a second, and a transaction each (one guarded ``UPDATE``, a commit) held the route
to 100-400 a second (bench/README.md). So each request's receipt joins the batch being gathered; one task applies
a batch at a time in ONE transaction (:func:`alertsvc.tracking.machine.receive_many`: a few guarded bulk
statements), and every request of the batch is answered only once that transaction has committed. A 2xx therefore
still means "recorded": a crash loses only receipts not yet answered, which Twilio sends again. Nothing waits on a
timer: while one batch commits the next gathers, so an idle service applies each callback at once, alone, and a
busy one in batches as large as the commit is slow (up to :data:`MAX_BATCH`). No Redis on this path: receipts are
recorded while Redis is down. A batch that fails is applied again receipt by receipt, each in its own transaction,
so one bad receipt (or a deadlock between two API processes' batches on PostgreSQL) fails only its own request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.clock import utcnow
from alertsvc.store.group_commit import GroupCommit, PerProcess, in_flight_for
from alertsvc.tracking import machine
from alertsvc.tracking.states import DeliveryState
from channels.twilio_codes import callback_outcome

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BATCH = 2000
"""Receipts applied in one transaction at most: past this the statements' parameters (a JSON text or arrays of
this many ids) and the transaction's hold on the SQLite writer grow without making the batch cheaper per receipt."""


class TwilioReceipt(NamedTuple):
    """What one ``MessageStatus`` says, in the state machine's words."""

    state: DeliveryState
    code: str | None = None
    reason: str | None = None


def twilio_receipt(message_status: str, error_code: int | None) -> TwilioReceipt | None:
    """The receipt of one Twilio ``MessageStatus``; None for the statuses that tell us nothing new."""
    status = message_status.strip().lower()
    if status in {"delivered", "read"}:
        return TwilioReceipt(DeliveryState.DELIVERED)
    if status in {"undelivered", "failed"}:
        outcome, reason = callback_outcome(status, error_code)
        return TwilioReceipt(
            DeliveryState(outcome.value), str(error_code) if error_code is not None else status, reason
        )
    if status == "sent":
        return TwilioReceipt(DeliveryState.SENT)
    return None  # queued, accepted, sending, scheduled: nothing we do not know already


async def apply_twilio_status(
    session: AsyncSession, message_sid: str, message_status: str, error_code: int | None, now: datetime
) -> machine.Receipt:
    """Apply one Twilio status inside the caller's transaction (see :func:`record_twilio_status` for the route)."""
    receipt = twilio_receipt(message_status, error_code)
    if receipt is None:
        return machine.Receipt.UNCHANGED
    return await machine.receive(session, message_sid, receipt.state, now, receipt.code, receipt.reason)


async def record_twilio_status(
    sessions: async_sessionmaker[AsyncSession],
    message_sid: str,
    message_status: str,
    error_code: int | None,
    now: datetime,
) -> machine.Receipt:
    """Apply one Twilio status callback in its own transaction; one that came before its send was recorded is kept
    and applied when the record lands (:func:`alertsvc.tracking.machine.record_receipt`)."""
    receipt = twilio_receipt(message_status, error_code)
    if receipt is None:
        return machine.Receipt.UNCHANGED
    return await machine.record_receipt(sessions, message_sid, receipt.state, now, receipt.code, receipt.reason)


class ReceiptBatcher(GroupCommit[machine.Report, machine.Receipt]):
    """Group commit of provider receipts for one process's database (see the module's docstring and
    :mod:`alertsvc.store.group_commit`)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(self._apply, in_flight_for(runtime.engine.dialect.name), MAX_BATCH, "receipts")
        self._runtime = runtime

    async def _apply(self, reports: Sequence[machine.Report]) -> list[machine.Receipt]:
        now = utcnow()
        outcomes = await self._runtime.write(machine.receive_many, reports, now)
        kept = [r.provider_id for r, o in zip(reports, outcomes, strict=True) if o is machine.Receipt.KEPT]
        if kept and await machine.apply_kept_after_commit(self._runtime.sessions, kept, now):
            # PostgreSQL: a record committed meanwhile took them; which ones moved is not told, and need not be.
            outcomes = [machine.Receipt.MOVED if o is machine.Receipt.KEPT else o for o in outcomes]
        return outcomes


_BATCHERS: PerProcess[async_sessionmaker[AsyncSession], ReceiptBatcher] = PerProcess()


def receipt_batcher(runtime: Runtime) -> ReceiptBatcher:
    """This process's batcher for the runtime's database (made on first use, on the running loop)."""
    return _BATCHERS.get(runtime.sessions, lambda: ReceiptBatcher(runtime))


async def submit_twilio_status(
    runtime: Runtime, message_sid: str, message_status: str, error_code: int | None
) -> machine.Receipt:
    """One Twilio status callback, applied with the others arriving meanwhile (group commit); returns once it is
    committed (or kept, when its send is not recorded yet)."""
    receipt = twilio_receipt(message_status, error_code)
    if receipt is None:
        return machine.Receipt.UNCHANGED
    report = machine.Report(message_sid, receipt.state, receipt.code, receipt.reason)
    return await receipt_batcher(runtime).submit(report)
