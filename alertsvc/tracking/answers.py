"""Residents' answers from the links in their messages, as one unit of work each (the convention is in
:mod:`alertsvc.runtime`): the acknowledgement page finds the alert a link speaks for and, when the resident pressed
a button, records their answer in the same transaction (:mod:`alertsvc.tracking.acks` has the rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alertsvc.clock import utcnow
from alertsvc.store.db import transaction
from alertsvc.tracking.acks import AckTarget, Answer, record_answer, target_of_delivery

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime

__all__ = ["acknowledge"]


async def acknowledge(runtime: Runtime, delivery_id: int, answer: Answer | None) -> AckTarget:
    """The alert and resident of a delivery's link; with an ``answer``, it is recorded (``via`` link), replacing
    an earlier one. :class:`~alertsvc.tracking.acks.AckRefused` when the delivery is unknown or the alert expired."""
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        target = await target_of_delivery(session, delivery_id, now)
        if answer is not None:
            await record_answer(session, target.alert.id, target.resident_id, answer, "link", now)
        return target
