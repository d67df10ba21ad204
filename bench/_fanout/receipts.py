"""The return path of one SMS alert with status callbacks on (``bench/fanout.py --callbacks``): wait, within a
bound, until every SMS delivery of the alert is ``delivered``, then read from the database where each ended.

Issue 19 asks that with the Twilio stand-in posting ``sent`` then ``delivered`` for each message, every delivery
ends ``delivered``. The database is the judge (a callback the API answered but did not apply would be lost), read
with alertsvc's own engine; the stand-in says how many callbacks were answered and when the last ``delivered`` one
was, and the database when the last message was sent and the last delivery became final.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime

from bench._fanout.database import Database, engine_of
from bench._fanout.standin import Callbacks, Standin


@dataclass
class Receipts:
    """Where one alert's SMS deliveries ended, and how long the callbacks took after the last send."""

    total: int
    states: dict[str, int] = field(default_factory=dict)
    last_sent_to_last_final: float = float("nan")
    """Seconds from the latest ``sent_at`` to the latest ``final_at`` of the alert's deliveries (database)."""
    last_arrival_to_last_delivered: float = float("nan")
    """Seconds from the last message at the stand-in to the last ``delivered`` callback the API answered."""
    callbacks: Callbacks = field(default_factory=Callbacks)
    waited: float = 0.0

    @property
    def delivered(self) -> int:
        return self.states.get("delivered", 0)

    def summary(self) -> str:
        others = ", ".join(f"{state} {n:,}" for state, n in sorted(self.states.items()) if state != "delivered")
        return (
            f"delivered {self.delivered:,} / {self.total:,}" + (f" ({others})" if others else "")
            + f"; last send → last final {self.last_sent_to_last_final:.2f} s (database),"
            f" last arrival → last delivered callback answered {self.last_arrival_to_last_delivered:.2f} s;"
            f" callbacks answered {self.callbacks.answered:,}, failed {self.callbacks.failed:,};"
            f" waited {self.waited:.1f} s"
        )  # fmt: skip


async def sms_states(database: Database) -> tuple[dict[str, int], datetime | None, datetime | None]:
    """Every SMS delivery's count per state, and the latest ``sent_at`` and ``final_at`` (the benchmark clears the
    deliveries before each alert, so these are the alert's)."""
    from sqlalchemy import func, select

    from alertsvc.store.models import Delivery

    async with engine_of(database) as engine, engine.connect() as conn:
        rows = (await conn.execute(
            select(Delivery.state, func.count()).where(Delivery.channel == "sms").group_by(Delivery.state)
        )).all()  # fmt: skip
        last_sent, last_final = (await conn.execute(
            select(func.max(Delivery.sent_at), func.max(Delivery.final_at)).where(Delivery.channel == "sms")
        )).one()  # fmt: skip
    return {str(state): int(n) for state, n in rows}, last_sent, last_final


async def await_delivered(database: Database, standin: Standin, expected: int, within: float) -> Receipts:
    """Poll the database until ``expected`` SMS deliveries are ``delivered`` or ``within`` seconds have passed, then
    read where every one ended; the stand-in's callback counts and times with it."""
    started = time.monotonic()
    states: dict[str, int] = {}
    while time.monotonic() - started < within:
        states, _, _ = await sms_states(database)
        if states.get("delivered", 0) >= expected:
            break
        await asyncio.sleep(1.0)
    waited = time.monotonic() - started
    await asyncio.sleep(0.5)  # a callback still in flight after the last one counted lands before the final read
    states, last_sent, last_final = await sms_states(database)
    callbacks = standin.callbacks()
    arrivals = standin.stats()
    gap = (last_final - last_sent).total_seconds() if last_sent and last_final else float("nan")
    answered_gap = callbacks.last_delivered - arrivals.last if callbacks.last_delivered else float("nan")
    return Receipts(sum(states.values()), states, gap, answered_gap, callbacks, waited)
