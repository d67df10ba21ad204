"""Who a Cancel reaches: the residents who received the alert it cancels, not whoever is inside its areas now.

A Cancel keeps the original's areas (its infos say where the warning was), but the sending rules send it only to
those who received a referenced alert (:mod:`alertsvc.alerts.sending_rules`). Counting its areas would tell the
approver of a Cancel the original's targeting reach (residents who moved in or signed up since, who never got the
warning and will not get the all-clear). This counts what the fan-out will plan: the contacts that received a
referenced alert, still confirmed and not opted out, test recipients only for an Exercise or a Test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alertsvc.alerts.cancel_scope import alerts_a_follow_up_reaches
from alertsvc.alerts.reach import CHANNELS, UNKNOWN_LANGUAGE, Reach
from alertsvc.alerts.sending_rules import TEST_ONLY_STATUSES
from alertsvc.cap import CapError, parse_cap_json
from alertsvc.i18n import primary_tag
from alertsvc.store.audience import contacts_that_received, recipients_of_contacts

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from alertsvc.runtime import Runtime
    from alertsvc.store.models import Alert

__all__ = ["cancel_reach", "recipients_reach"]


async def recipients_reach(session: AsyncSession, alert: Alert) -> Reach:
    """The residents and contacts (per channel and language) a Cancel goes to: those who received what it
    references and can still be written to."""
    try:
        keys = parse_cap_json(alert.cap).reference_keys()
    except CapError:
        keys = []
    test_only = alert.status in TEST_ONLY_STATUSES
    residents: dict[int, str] = {}
    contacts = dict.fromkeys(CHANNELS, 0)
    by_language: dict[str, dict[str, int]] = {channel: {} for channel in CHANNELS}
    async for contact_ids in contacts_that_received(session, await alerts_a_follow_up_reaches(session, keys)):
        for recipient in await recipients_of_contacts(session, contact_ids):
            if recipient.opted_out or (test_only and not recipient.test_recipient):
                continue
            language = primary_tag(recipient.language) or UNKNOWN_LANGUAGE
            residents[recipient.resident_id] = language
            contacts[recipient.channel] = contacts.get(recipient.channel, 0) + 1
            per_language = by_language.setdefault(recipient.channel, {})
            per_language[language] = per_language.get(language, 0) + 1
    languages: dict[str, int] = {}
    for language in residents.values():
        languages[language] = languages.get(language, 0) + 1
    return Reach(len(residents), contacts, languages, by_language)


async def cancel_reach(runtime: Runtime, alert: Alert) -> Reach:
    """:func:`recipients_reach` in a session of its own, for a page (a router opens no session)."""
    async with runtime.sessions() as session:
        return await recipients_reach(session, alert)
