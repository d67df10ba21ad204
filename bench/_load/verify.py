"""After each scenario, the database is asked whether what the server accepted really happened: the LOST column.

* callbacks: every message whose ``delivered`` callback was answered 2xx must end ``delivered``, and one whose
  ``sent`` alone was accepted must be ``sent`` or later. The server may apply callbacks after answering (a
  buffer or stream, as issue 19 suggests), so the check is repeated until none is missing or ``settle`` seconds
  pass; a callback still not visible then is lost;
* acks: each resident whose answer was accepted has exactly one acknowledgement of the alert, with that answer,
  ``via`` the link; a row for a resident whose request was refused (or timed out) is reported apart;
* creates: every alert answered 201 is stored under its identifier.

Plain SQL over the documented tables (``deliveries``, ``acknowledgements``, ``alerts``), read with SQLAlchemy's
own engine, so a change inside alertsvc does not change what is checked.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from bench._load.drive import Measured
from bench._load.generator import NOT_TRIED
from bench._load.seed import Message

SENT_OK, DELIVERED_OK = 1, 2
"""The bits of a callback item's outcome: its ``sent`` (request 0) and its ``delivered`` (request 1) accepted."""


async def _rows(url: str, sql: str, **params: Any) -> list[Any]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(text(sql), params))
    finally:
        await engine.dispose()


def _missing_callbacks(messages: list[Message], outcomes: list[int], states: dict[str, str]) -> int:
    missing = 0
    for message, outcome in zip(messages, outcomes, strict=True):
        state = states.get(message.sid)
        if outcome != NOT_TRIED and outcome & DELIVERED_OK:
            missing += state != "delivered"
        elif outcome != NOT_TRIED and outcome & SENT_OK:
            missing += state not in ("sent", "delivered")
    return missing


async def check_callbacks(url: str, alert_id: str, messages: list[Message], measured: Measured,
                          settle: float) -> None:  # fmt: skip
    """Set ``measured.lost``: accepted callbacks whose effect is not in the deliveries within ``settle`` s."""
    deadline = time.monotonic() + settle
    while True:
        rows = await _rows(url, "SELECT provider_id, state FROM deliveries WHERE alert_id = :a", a=alert_id)
        states = {str(sid): str(state) for sid, state in rows}
        lost = _missing_callbacks(messages, measured.outcomes, states)
        if not lost or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.5)
    driven = [m for m, o in zip(messages, measured.outcomes, strict=True) if o != NOT_TRIED]
    delivered = sum(states.get(m.sid) == "delivered" for m in driven)
    measured.lost = lost
    measured.notes.append(f"{delivered:,} of the {len(driven):,} messages driven end `delivered`")


async def check_acks(url: str, alert_id: str, answers: list[tuple[Message, str]], measured: Measured) -> None:
    """Set ``measured.lost``: accepted answers not recorded once, with the answer given; note any extra rows."""
    rows = await _rows(url, "SELECT resident_id, answer, via FROM acknowledgements WHERE alert_id = :a", a=alert_id)
    per_resident = Counter(int(r) for r, _, _ in rows)
    recorded = {int(r): (str(a), str(v)) for r, a, v in rows}
    accepted = {m.resident_id: answer for (m, answer), o in zip(answers, measured.outcomes, strict=True) if o > 0}
    lost = sum(recorded.get(resident) != (answer, "link") for resident, answer in accepted.items())
    twice = sum(n > 1 for n in per_resident.values())
    extra = len(set(recorded) - set(accepted))
    measured.lost = lost + twice
    measured.notes.append(
        f"{len(recorded):,} answers recorded for {len(accepted):,} accepted; {twice} residents recorded more than once"
        + (f"; {extra} recorded though not answered 2xx (timed out or refused after recording)" if extra else "")
    )


async def check_creates(url: str, prefix: str, identifiers: list[str], measured: Measured) -> None:
    """Set ``measured.lost``: alerts answered 2xx that are not stored (``identifiers`` all start ``prefix-``)."""
    accepted = {i for i, o in zip(identifiers, measured.outcomes, strict=True) if o > 0}
    rows = await _rows(url, "SELECT identifier FROM alerts WHERE identifier LIKE :p", p=f"{prefix}-%")
    stored = {str(identifier) for (identifier,) in rows}
    measured.lost = len(accepted - stored)
    measured.notes.append(f"{len(stored & set(identifiers)):,} stored of {len(accepted):,} accepted")
