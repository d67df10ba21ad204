"""Which alerts a CAP Cancel ends: the ones it names, and the rest of their thread that went out.

A Cancel names one alert in ``references`` (the console and the API cancel the alert whose page or id they were
given, :func:`alertsvc.alerts.service.build_cancel`). But an Update *replaced* the alert it references: once
either is cancelled, neither is in force. Moving only the named alert left the other one ``sent``: the console
page of an Update whose original was cancelled said "sent", and so did the API, while residents' pages already
said cancelled (:mod:`alertsvc.alerts.thread`). So the fan-out of a Cancel moves every member of the named
alerts' threads that went out (approved, dispatching or sent) to ``cancelled`` and stops what is still queued of
them. Members still waiting for approval are left as they are (an approver decides on them and sees the thread
cancelled); other Cancels are never moved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.alerts.states import AlertState
from alertsvc.alerts.thread import thread_state
from alertsvc.store.audience import referenced_alert_ids
from alertsvc.store.models import Alert

__all__ = ["ENDED_WITH_THREAD", "alerts_a_cancel_ends", "alerts_a_follow_up_reaches"]

ENDED_WITH_THREAD: Final = frozenset({AlertState.APPROVED, AlertState.DISPATCHING, AlertState.SENT})
"""States of a thread member that a Cancel of another member ends: it went out and is in force."""


async def alerts_a_cancel_ends(session: AsyncSession, keys: Sequence[tuple[str, str, str]]) -> list[str]:
    """Our ids of the alerts a Cancel with these ``references`` keys ends: the named ones first (as before), then
    the other members of their threads in force, each once."""
    return await _named_and_their_threads(session, keys, lambda member: member.state in ENDED_WITH_THREAD)


async def alerts_a_follow_up_reaches(session: AsyncSession, keys: Sequence[tuple[str, str, str]]) -> list[str]:
    """Our ids of the alerts whose recipients an Update or a Cancel with these ``references`` keys goes to: the
    named ones first, then every other Alert and Update of their threads, whatever their state now.

    Why the whole thread: a Cancel ends every member that went out (:func:`alerts_a_cancel_ends`), so it must
    reach everyone those members reached. An original cancelled after its Update widened the area used to end the
    Update without telling the residents who got only the Update: they kept its "Leave now". Members that never
    went out add nobody (only received deliveries count), and the fan-out moves the named alerts to ``cancelled``
    before it asks, so the state cannot be the filter here.
    """
    return await _named_and_their_threads(session, keys, lambda member: True)


async def _named_and_their_threads(
    session: AsyncSession, keys: Sequence[tuple[str, str, str]], counts: Callable[[Alert], bool]
) -> list[str]:
    """The alerts ``keys`` name, first and each once, then the other members of their threads (never a Cancel)
    that ``counts``."""
    named = await referenced_alert_ids(session, keys)
    found = list(dict.fromkeys(named))
    for alert_id in named:
        alert = await session.get(Alert, alert_id)
        if alert is None:
            continue
        for member in (await thread_state(session, alert)).members:
            if member.msg_type != "Cancel" and member.id not in found and counts(member):
                found.append(member.id)
    return found
