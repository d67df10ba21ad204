"""How many residents and contacts an area reaches, before anything is sent (the targeting preview).

Two ways to the same answer, both with the stages fan-out uses (the bounding-box prefilter, then the exact
vectorised test of :class:`TargetArea`), so the preview and the send can never disagree about who is inside:

* **The reach index** (:mod:`alertsvc.alerts.reach_index`): this process's in-memory arrays of the residents,
  used only when they are of the database's current ``reach_generation`` (read first, on the caller's session):
  milliseconds for a million residents, which the compose page needs as the dispatcher draws.
* **The database path** (:func:`reach_from_database`): the prefilter query, the exact test, then one grouped count
  a chunk of ids (the ids bound as one parameter, :func:`alertsvc.store.ids.ids_in`). Used while the index is
  missing, stale or being rebuilt (it starts the rebuild), so no count is ever shown from an older generation.

Compiling the area (GEOS prepares each polygon: a quarter of a second for a few large ones), the exact test and
the index's arithmetic run in worker threads (``asyncio.to_thread``): the event loop keeps serving every other
request (the live views, the API) meanwhile.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.alerts.reach_index import Counts, ReachArrays, index_for
from alertsvc.alerts.sending_rules import TEST_ONLY_STATUSES
from alertsvc.geo.areas import Area
from alertsvc.geo.targeting import TargetArea, bbox_filter_params
from alertsvc.i18n import primary_tag
from alertsvc.store.audience import residents_in_boxes
from alertsvc.store.ids import ids_in
from alertsvc.store.models import Contact, Resident
from alertsvc.store.resident_snapshot import read_generation

LOOKUP_CHUNK = 50_000
"""Ids per grouped count: one array parameter, so a large chunk is one statement, not 50,000 placeholders."""
CHANNELS = ("sms", "email", "push")
UNKNOWN_LANGUAGE = "und"
"""BCP 47's "undetermined", for a resident stored without a language (the index says it the same way)."""


@dataclass(frozen=True, slots=True)
class Reach:
    residents: int
    contacts: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    """Residents per language (primary subtag: ``fr-CA`` counts as ``fr``)."""
    contacts_by_language: dict[str, dict[str, int]] = field(default_factory=dict)
    """Channel → language → confirmed, not opted-out contacts: how many get the SMS in French, say."""
    tests: Reach | None = None
    """The same figures among the residents marked as test recipients: all an Exercise or a Test reaches."""

    def for_status(self, status: str | None) -> Reach:
        """What an alert of CAP ``status`` reaches of this: the test recipients for Exercise and Test (the console
        once told 763 residents for a Test that went to 11), everyone otherwise."""
        if status in TEST_ONLY_STATUSES:
            return self.tests or Reach(0, {channel: 0 for channel in CHANNELS})
        return self


async def reach_of(session: AsyncSession, areas: list[Area]) -> Reach:
    """Residents inside ``areas`` and their confirmed, not opted-out contacts per channel and language, for
    everyone and (``tests``) for the test recipients alone: from the reach index when it is current, else from
    the database (which starts the index's rebuild)."""
    target = await asyncio.to_thread(TargetArea, areas)
    return await indexed_reach(session, target) or await reach_from_database(session, target)


async def current_index(session: AsyncSession) -> ReachArrays | None:
    """This process's reach index of ``session``'s database if it is of the current generation (read now, on
    ``session``); None otherwise, and then its rebuild has been started."""
    index = index_for(session.get_bind().engine.url.render_as_string(hide_password=False))
    if index is None:
        return None
    return index.current(await read_generation(session))


async def indexed_reach(session: AsyncSession, target: TargetArea) -> Reach | None:
    """The reach from the current index; None when there is none (see :func:`current_index`)."""
    arrays = await current_index(session)
    if arrays is None:
        return None
    everyone, tests = await asyncio.to_thread(_counts_in_index, arrays, target)
    return _reach_of_counts(everyone, tests=_reach_of_counts(tests))


def _counts_in_index(arrays: ReachArrays, target: TargetArea) -> tuple[Counts, Counts]:
    return arrays.reach_counts(target, bbox_filter_params(target))


def _reach_of_counts(counts: Counts, tests: Reach | None = None) -> Reach:
    by_language: dict[str, dict[str, int]] = {channel: {} for channel in CHANNELS}
    by_language.update(counts.contacts_by_language)
    totals = {channel: sum(per.values()) for channel, per in by_language.items()}
    return Reach(counts.residents, totals, dict(sorted(counts.languages.items())), by_language, tests)


async def reach_from_database(session: AsyncSession, target: TargetArea) -> Reach:
    """The reach read from the database alone: exact at every moment, 1-2 s for a million residents."""
    boxes = await asyncio.to_thread(bbox_filter_params, target)
    inside: list[int] = []
    async for chunk in residents_in_boxes(session, boxes):
        mask = await asyncio.to_thread(target.contains, chunk.lats, chunk.lons)
        inside.extend(chunk.ids[mask].tolist())
    tally = {False: _Tally(), True: _Tally()}
    for start in range(0, len(inside), LOOKUP_CHUNK):
        ids = inside[start : start + LOOKUP_CHUNK]
        residents = await session.execute(
            select(Resident.language, Resident.test_recipient, func.count())
            .where(ids_in(session, Resident.id, ids))
            .group_by(Resident.language, Resident.test_recipient)
        )
        for language, test_recipient, count in residents:
            key = primary_tag(language) or UNKNOWN_LANGUAGE
            for kept in {False, bool(test_recipient)}:
                tally[kept].residents += int(count)
                tally[kept].languages[key] = tally[kept].languages.get(key, 0) + int(count)
        contacts = await session.execute(
            select(Contact.channel, Resident.language, Resident.test_recipient, func.count())
            .join(Resident, Resident.id == Contact.resident_id)
            .where(
                ids_in(session, Contact.resident_id, ids),
                Contact.confirmed_at.is_not(None),
                Contact.opted_out_at.is_(None),
            )
            .group_by(Contact.channel, Resident.language, Resident.test_recipient)
        )
        for channel, language, test_recipient, count in contacts:
            key = primary_tag(language) or UNKNOWN_LANGUAGE
            for kept in {False, bool(test_recipient)}:
                per_channel = tally[kept].by_language.setdefault(str(channel), {})
                per_channel[key] = per_channel.get(key, 0) + int(count)
    return tally[False].reach(tests=tally[True].reach())


@dataclass(slots=True)
class _Tally:
    """Counts being added up, chunk by chunk: ``False`` in :func:`reach_of` holds everyone, ``True`` the test
    recipients alone."""

    residents: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, dict[str, int]] = field(default_factory=lambda: {channel: {} for channel in CHANNELS})

    def reach(self, tests: Reach | None = None) -> Reach:
        totals = {channel: sum(counts.values()) for channel, counts in self.by_language.items()}
        return Reach(self.residents, totals, dict(sorted(self.languages.items())), self.by_language, tests)
