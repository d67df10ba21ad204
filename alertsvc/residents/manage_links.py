"""Residents' manage links: made, checked on every use, voided; and a fresh one sent to a resident's own contact.

A link is good while it is younger than ``ALERTSVC_MANAGE_LINK_DAYS`` and was made in the resident's current link
epoch (``residents.manage_link_epoch``). The epoch is raised, voiding every link made before, when the resident
signs out of every link (:func:`sign_out_everywhere`), when a contact of theirs is opted out (any way:
:func:`alertsvc.residents.optout.opt_out`) and when a contact of theirs is replaced or removed
(:mod:`alertsvc.residents.service`): the person who held an old number or address must not keep a way in.

A link that is no longer good still names its resident (the token is ours), so its page can speak the resident's
language and offer a fresh link; the fresh link goes only to a contact of the resident's, never to the browser,
through the same job as the "already subscribed" answer to a repeated sign-up (at most one per contact in
:data:`alertsvc.residents.selfservice.ALREADY_SUBSCRIBED_EVERY`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.clock import utcnow
from alertsvc.security.audit import record
from alertsvc.security.links import BadToken
from alertsvc.security.manage_links import ManageLinkSigner
from alertsvc.store.db import transaction
from alertsvc.store.models import Resident

if TYPE_CHECKING:
    from alertsvc.runtime import Runtime
    from alertsvc.settings import Settings

__all__ = [
    "LinkState",
    "ManageAccess",
    "manage_link_token",
    "open_manage_link",
    "sign_out_everywhere",
    "void_manage_links",
]


class LinkState(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    """Older than the setting allows (or made before links expired at all)."""
    REVOKED = "revoked"
    """Made before the resident's current link epoch."""


@dataclass(frozen=True, slots=True)
class ManageAccess:
    """What a genuine manage token opens: its resident (id and stored language) and whether it is still good."""

    resident_id: int
    state: LinkState
    language: str | None


def _signer(settings: Settings) -> ManageLinkSigner:
    return ManageLinkSigner(settings.signing_key())


def manage_link_token(settings: Settings, resident: Resident, now: datetime | None = None) -> str:
    """A fresh token for ``resident`` (loaded row), good for ``manage_link_days`` from ``now``."""
    return _signer(settings).sign(resident.id, resident.manage_link_epoch or 0, now or utcnow())


async def open_manage_link(runtime: Runtime, token: str) -> ManageAccess | None:
    """What ``token`` opens now; None when it is not a genuine manage token of a resident who exists."""
    signer = _signer(runtime.settings)
    try:
        claim = signer.unsign(token)
    except BadToken:
        legacy = signer.legacy_resident(token)
        if legacy is None:
            return None
        resident_id, epoch, issued_at = legacy, None, None
    else:
        resident_id, epoch, issued_at = claim.resident_id, claim.epoch, claim.issued_at
    async with runtime.sessions() as session:
        resident = await session.get(Resident, resident_id)
        if resident is None:
            return None
        current, language = resident.manage_link_epoch or 0, resident.language
    if issued_at is None or epoch is None:
        state = LinkState.EXPIRED
    elif epoch != current:
        state = LinkState.REVOKED
    elif utcnow() - issued_at > timedelta(days=runtime.settings.manage_link_days):
        state = LinkState.EXPIRED
    else:
        state = LinkState.VALID
    return ManageAccess(resident_id, state, language)


async def void_manage_links(session: AsyncSession, resident_id: int) -> None:
    """Raise the resident's link epoch in the caller's transaction: every manage link made before stops working."""
    await session.execute(
        update(Resident)
        .where(Resident.id == resident_id)
        .values(manage_link_epoch=Resident.manage_link_epoch + 1)
        .execution_options(synchronize_session=False)
    )


async def sign_out_everywhere(runtime: Runtime, resident_id: int) -> None:
    """The resident's "sign out of every link": every manage link of theirs, this one included, stops working."""
    async with transaction(runtime.sessions) as session:
        await void_manage_links(session, resident_id)
        await record(session, "resident", "resident.manage_links_revoked", "resident", str(resident_id))
