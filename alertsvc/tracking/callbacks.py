"""Provider status callbacks → delivery states, under a guard in SQL.

A callback may arrive twice, late, or out of order (``delivered`` before ``sent``); each is applied with an
``UPDATE ... WHERE state IN (<states this one may follow>)``, so a duplicate or a late one changes nothing and a
final state never goes back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.store.models import Delivery
from alertsvc.tracking.states import DeliveryState
from channels.twilio_codes import callback_outcome

IN_FLIGHT = (DeliveryState.SENDING.value, DeliveryState.SENT.value)


async def apply_twilio_status(
    session: AsyncSession, message_sid: str, message_status: str, error_code: int | None, now: datetime
) -> bool:
    """Apply one Twilio ``MessageStatus``; True when it moved a delivery."""
    status = message_status.strip().lower()
    values: dict[str, object] = {"updated_at": now}
    if status in {"delivered", "read"}:
        values.update(state=DeliveryState.DELIVERED.value, final_at=now)
        allowed: tuple[str, ...] = IN_FLIGHT
    elif status in {"undelivered", "failed"}:
        outcome, reason = callback_outcome(status, error_code)
        values.update(
            state=outcome.value,
            final_at=now,
            error_code=str(error_code) if error_code is not None else status,
            reason=reason[:300],
        )
        allowed = IN_FLIGHT
    elif status == "sent":
        values.update(state=DeliveryState.SENT.value)
        allowed = (DeliveryState.SENDING.value,)
    else:  # queued, accepted, sending, scheduled: nothing we do not know already
        return False
    result = await session.execute(
        update(Delivery).where(Delivery.provider_id == message_sid, Delivery.state.in_(allowed)).values(**values)
    )
    return bool(getattr(result, "rowcount", 0))
