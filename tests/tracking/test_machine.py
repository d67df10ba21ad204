"""The delivery state machine's guards, on SQLite and PostgreSQL: each move leaves exactly the states the drawing in
``alertsvc.tracking.machine`` says, and provider receipts that repeat, come late, or come before their send is
recorded end where they should (kept, applied when the record lands, forgotten when it never does)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.dispatch.audience import Plan
from alertsvc.dispatch.context import WorkerContext
from alertsvc.dispatch.sweeper import sweep
from alertsvc.runtime import Runtime
from alertsvc.store.db import transaction
from alertsvc.store.models import Alert, Contact, Delivery, EarlyCallback, Resident
from alertsvc.tracking import machine
from alertsvc.tracking.machine import Receipt
from alertsvc.tracking.states import DeliveryState

S = DeliveryState
ALL = [state.value for state in DeliveryState]
_alerts = itertools.count(1)

EXPECTED: dict[str, tuple[set[str], str]] = {
    # move: (the states it moves, the state they end in). Written from the drawing, not from the module.
    "claim": ({"queued"}, "sending"),
    "record_sent": ({"sending"}, "sent"),
    "fail": ({"sending"}, "undeliverable"),
    "requeue": ({"sending"}, "queued"),
    "expire_claimed": ({"sending"}, "failed"),
    "release_stalled": ({"sending"}, "queued"),
    "suppress_unsent": ({"queued", "sending"}, "suppressed"),
    "suppress_opted_out": ({"queued"}, "suppressed"),
    "expire_queued": ({"queued"}, "failed"),
    "receipt sent": ({"sending"}, "sent"),
    "receipt delivered": ({"sending", "sent"}, "delivered"),
    "receipt undeliverable": ({"sending", "sent"}, "undeliverable"),
}


async def new_alert(session: AsyncSession) -> str:
    alert_id = f"machine-{next(_alerts)}"
    now = utcnow()
    session.add(
        Alert(
            id=alert_id, sender="s", identifier=alert_id, sent_text="t", sent_at=now, status="Actual",
            msg_type="Alert", state="dispatching", cap={}, submitted_by="test",
        )
    )  # fmt: skip
    await session.flush()
    return alert_id


async def rows_in_every_state(runtime: Runtime) -> tuple[str, dict[str, int]]:
    """A new alert with one delivery in each state, each with a contact of its own and a provider id; long idle."""
    long_ago = utcnow() - timedelta(hours=1)
    async with transaction(runtime.sessions) as session:
        alert_id = await new_alert(session)
        ids = {}
        for state in ALL:
            resident = Resident(ref=f"{alert_id}-{state}", lat=0.0, lon=0.0, language="en")
            session.add(resident)
            await session.flush()
            contact = Contact(
                resident_id=resident.id, channel="sms", address=f"{alert_id}-{state}", confirmed_at=long_ago
            )
            session.add(contact)
            await session.flush()
            delivery = Delivery(
                alert_id=alert_id, contact_id=contact.id, resident_id=resident.id, channel="sms", state=state,
                language="en", provider_id=f"SM-{alert_id}-{state}", created_at=long_ago, updated_at=long_ago,
            )  # fmt: skip
            session.add(delivery)
            await session.flush()
            ids[state] = delivery.id
    return alert_id, ids


async def states_of(runtime: Runtime, ids: dict[str, int]) -> dict[str, str]:
    async with runtime.sessions() as session:
        found = dict(
            (await session.execute(select(Delivery.id, Delivery.state).where(Delivery.id.in_(ids.values())))).all()
        )
    return {state: str(found[i]) for state, i in ids.items()}


Move = Callable[[AsyncSession, str, dict[str, int]], Awaitable[Any]]


async def _receipts(session: AsyncSession, alert_id: str, state: DeliveryState) -> None:
    for start in ALL:
        await machine.receive(session, f"SM-{alert_id}-{start}", state, utcnow(), "30003", "unreachable")


async def _opt_out_all(session: AsyncSession, alert_id: str, ids: dict[str, int]) -> None:
    for contact_id in list(await session.scalars(select(Delivery.contact_id).where(Delivery.alert_id == alert_id))):
        await machine.suppress_opted_out(session, contact_id, utcnow())


MOVES: dict[str, Move] = {
    "claim": lambda s, a, ids: machine.claim(s, list(ids.values()), utcnow()),
    "record_sent": lambda s, a, ids: machine.record_sent(s, [(i, f"new-{i}") for i in ids.values()], utcnow()),
    "fail": lambda s, a, ids: machine.fail(s, list(ids.values()), S.UNDELIVERABLE, "21211", "bad number", utcnow()),
    "requeue": lambda s, a, ids: machine.requeue(s, list(ids.values()), utcnow(), "20503", "busy", utcnow()),
    "expire_claimed": lambda s, a, ids: machine.expire_claimed(s, list(ids.values()), utcnow()),
    "release_stalled": lambda s, a, ids: machine.release_stalled(s, list(ids.values()), utcnow(), utcnow()),
    "suppress_unsent": lambda s, a, ids: machine.suppress_unsent(s, a, "alert cancelled", utcnow()),
    "suppress_opted_out": _opt_out_all,
    "expire_queued": lambda s, a, ids: machine.expire_queued(s, a, utcnow()),
    "receipt sent": lambda s, a, ids: _receipts(s, a, S.SENT),
    "receipt delivered": lambda s, a, ids: _receipts(s, a, S.DELIVERED),
    "receipt undeliverable": lambda s, a, ids: _receipts(s, a, S.UNDELIVERABLE),
}


async def test_each_move_leaves_exactly_the_states_of_the_drawing(runtime: Runtime) -> None:
    seen = {}
    for name, move in MOVES.items():
        alert_id, ids = await rows_in_every_state(runtime)
        async with transaction(runtime.sessions) as session:
            await move(session, alert_id, ids)
        after = await states_of(runtime, ids)
        moved = {start for start, end in after.items() if end != start}
        seen[name] = (moved, {after[start] for start in moved})
    assert seen == {name: (starts, {end}) for name, (starts, end) in EXPECTED.items()}


async def test_the_plan_and_the_failures_refuse_states_they_cannot_make(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        alert_id = await new_alert(session)
        with pytest.raises(ValueError, match="planned queued or suppressed"):
            await machine.plan(session, alert_id, [Plan(1, 1, "sms", "en", S.SENT)], utcnow())
        with pytest.raises(ValueError, match="failed or undeliverable"):
            await machine.fail(session, [1], S.QUEUED, "x", "y", utcnow())
        with pytest.raises(ValueError, match="provider receipt"):
            await machine.receive(session, "SM1", S.QUEUED, utcnow())


async def sending_row(runtime: Runtime) -> tuple[int, dict[str, int]]:
    """A delivery claimed for sending (its provider id not recorded yet)."""
    _, ids = await rows_in_every_state(runtime)
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(Delivery).where(Delivery.id == ids["sending"]).values(provider_id=None))
    return ids["sending"], ids


async def row(runtime: Runtime, delivery_id: int) -> Delivery:
    async with runtime.sessions() as session:
        found = await session.get(Delivery, delivery_id)
    assert found is not None
    return found


async def kept(runtime: Runtime) -> dict[str, tuple[str, str | None]]:
    async with runtime.sessions() as session:
        rows = await session.execute(select(EarlyCallback.provider_id, EarlyCallback.state, EarlyCallback.error_code))
        return {str(p): (str(s), c) for p, s, c in rows}


async def record(runtime: Runtime, delivery_id: int, provider_id: str) -> None:
    """What the worker's record step does for one sent message."""
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        await machine.record_sent(session, [(delivery_id, provider_id)], now)
    await machine.apply_kept_after_commit(runtime.sessions, [provider_id], now)


async def test_a_duplicate_receipt_changes_nothing(runtime: Runtime) -> None:
    delivery_id, _ = await sending_row(runtime)
    await record(runtime, delivery_id, "SM-dup")
    assert await machine.record_receipt(runtime.sessions, "SM-dup", S.DELIVERED, utcnow()) is Receipt.MOVED
    first = await row(runtime, delivery_id)
    assert await machine.record_receipt(runtime.sessions, "SM-dup", S.DELIVERED, utcnow()) is Receipt.UNCHANGED
    again = await row(runtime, delivery_id)
    assert (again.state, again.final_at, again.updated_at) == ("delivered", first.final_at, first.updated_at)
    assert await kept(runtime) == {}


async def test_a_late_sent_or_a_second_final_changes_nothing(runtime: Runtime) -> None:
    delivery_id, _ = await sending_row(runtime)
    await record(runtime, delivery_id, "SM-late")
    assert await machine.record_receipt(runtime.sessions, "SM-late", S.FAILED, utcnow(), "30008", "x") is Receipt.MOVED
    assert await machine.record_receipt(runtime.sessions, "SM-late", S.SENT, utcnow()) is Receipt.UNCHANGED
    assert await machine.record_receipt(runtime.sessions, "SM-late", S.DELIVERED, utcnow()) is Receipt.UNCHANGED
    found = await row(runtime, delivery_id)
    assert (found.state, found.error_code) == ("failed", "30008")  # the first final receipt wins
    assert await kept(runtime) == {}


async def test_a_receipt_before_its_record_is_kept_and_applied_when_the_record_lands(runtime: Runtime) -> None:
    delivery_id, _ = await sending_row(runtime)
    assert await machine.record_receipt(runtime.sessions, "SM-early", S.SENT, utcnow()) is Receipt.UNCHANGED
    assert await kept(runtime) == {}  # a "sent" is not kept: the record says sent itself
    receipt = await machine.record_receipt(runtime.sessions, "SM-early", S.UNDELIVERABLE, utcnow(), "30003", "gone")
    assert receipt is Receipt.KEPT
    again = await machine.record_receipt(runtime.sessions, "SM-early", S.DELIVERED, utcnow())
    assert again is Receipt.UNCHANGED  # already kept: the first final receipt wins here too
    assert await kept(runtime) == {"SM-early": ("undeliverable", "30003")}
    assert (await row(runtime, delivery_id)).state == "sending"

    await record(runtime, delivery_id, "SM-early")
    found = await row(runtime, delivery_id)
    assert (found.state, found.provider_id, found.error_code, found.reason) == (
        "undeliverable", "SM-early", "30003", "gone"
    )  # fmt: skip
    assert found.sent_at is not None and found.final_at is not None
    assert await kept(runtime) == {}


async def test_a_kept_receipt_for_a_row_no_longer_sending_does_not_move_it(runtime: Runtime) -> None:
    """The record's own guard holds: a delivery cancelled meanwhile gets neither the provider id nor the receipt."""
    delivery_id, _ = await sending_row(runtime)
    assert await machine.record_receipt(runtime.sessions, "SM-gone", S.DELIVERED, utcnow()) is Receipt.KEPT
    async with transaction(runtime.sessions) as session:
        alert_id = (await row(runtime, delivery_id)).alert_id
        await machine.suppress_unsent(session, alert_id, "alert cancelled", utcnow())
    await record(runtime, delivery_id, "SM-gone")
    found = await row(runtime, delivery_id)
    assert (found.state, found.provider_id) == ("suppressed", None)
    assert await kept(runtime) == {"SM-gone": ("delivered", None)}  # left for the sweeper to forget


@pytest.fixture
async def worker_ctx(runtime: Runtime) -> Any:
    app = await WorkerContext.open(runtime)
    try:
        yield {"app": app}
    finally:
        await app.close()


async def test_the_sweeper_applies_what_a_killed_process_left_kept_and_forgets_what_never_lands(
    runtime: Runtime, worker_ctx: dict[str, Any]
) -> None:
    delivery_id, _ = await sending_row(runtime)
    assert await machine.record_receipt(runtime.sessions, "SM-stray", S.DELIVERED, utcnow()) is Receipt.KEPT
    assert await machine.record_receipt(runtime.sessions, "SM-never", S.FAILED, utcnow(), "30008", "x") is Receipt.KEPT
    # The record committed, but its process died before its own look at what was kept.
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(Delivery).where(Delivery.id == delivery_id).values(state="sent", provider_id="SM-stray")
        )
    result = await sweep(worker_ctx)
    assert (result["receipts_applied"], result["receipts_dropped"]) == (1, 0)
    assert (await row(runtime, delivery_id)).state == "delivered"
    assert await kept(runtime) == {"SM-never": ("failed", "30008")}  # no delivery has it (yet): kept

    limit = max(machine.KEEP_EARLY_FOR, 2 * timedelta(seconds=runtime.settings.job_timeout_s + 15))
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(EarlyCallback).values(received_at=utcnow() - limit + timedelta(minutes=1)))
    assert (await sweep(worker_ctx))["receipts_dropped"] == 0  # not yet
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(EarlyCallback).values(received_at=utcnow() - limit - timedelta(seconds=1)))
    assert (await sweep(worker_ctx))["receipts_dropped"] == 1
    assert await kept(runtime) == {}


async def test_a_receipt_and_a_record_committing_together_on_postgresql_both_look_after_commit(
    runtime: Runtime, database_url: str
) -> None:
    """READ COMMITTED: the record's transaction is open when the receipt comes, so the receipt sees no delivery
    and is kept, while the record took nothing kept. The record's look after its commit applies it.
    (SQLite cannot interleave so: its writers take turns, and the receipt would wait for the record.)"""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's writers take turns: a receipt cannot commit inside a record's transaction")
    delivery_id, _ = await sending_row(runtime)
    now = utcnow()
    async with runtime.sessions() as recording, recording.begin():
        await machine.record_sent(recording, [(delivery_id, "SM-race")], now)  # not committed yet
        assert await machine.record_receipt(runtime.sessions, "SM-race", S.DELIVERED, utcnow()) is Receipt.KEPT
    assert (await row(runtime, delivery_id)).state == "sent"  # committed: each missed the other so far
    assert await machine.apply_kept_after_commit(runtime.sessions, ["SM-race"], utcnow()) == 1
    assert (await row(runtime, delivery_id)).state == "delivered"
    assert await kept(runtime) == {}
