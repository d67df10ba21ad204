"""Migration 0017 on SQLite and PostgreSQL: stored alert texts with hidden characters refused since issue 17.

Alerts not sent yet or in force are cleaned (they must go out, be cancelled, be updated: every path parses the
stored document again, which refused them); alerts that are over keep their record exactly; each one found has an
audit row, the cleaned ones with their original texts. Before 0017 was filled in, every alert below stayed as
stored and no longer parsed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from alertsvc.cap import parse_cap_json
from alertsvc.cap.errors import CapError
from alertsvc.store.db import create_engine, session_factory
from alertsvc.store.migrate import upgrade
from alertsvc.store.models import Alert, AuditEvent
from tests.factories import cap_alert

ZWSP, RLO, SHY = "\u200b", "\u202e", "\u00ad"
KEPT = "Evacuate \u200d\U0001f468\u200d\U0001f469 \u200fشارع\u200f."  # joiners and direction marks are allowed


def _document(headline: str, **info: str) -> dict[str, Any]:
    document = cap_alert()
    document["info"][0]["headline"] = headline
    document["info"][0].update(info)
    return document


def _parses(document: dict[str, Any]) -> bool:
    try:
        parse_cap_json(document)
    except CapError:
        return False
    return True


async def test_0017_cleans_what_must_go_out_and_keeps_what_was_sent(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    try:
        await upgrade(engine, "0016")
        cases = {
            "pending": ("pending_approval", _document(f"Gas{ZWSP} leak", description=f"Leave{SHY} now"), None),
            "in_force": ("sent", _document("Flood", instruction=f"Go to {RLO}llih eht"), now + timedelta(hours=1)),
            "over": ("sent", _document(f"Old{ZWSP} fire"), now - timedelta(hours=1)),
            "cancelled": ("cancelled", _document(f"Storm{ZWSP}"), now + timedelta(hours=1)),
            "clean": ("sent", _document(KEPT), now + timedelta(hours=1)),
        }
        cases["pending"][1]["info"][0]["area"][0]["areaDesc"] = f"Old{ZWSP} town"
        ids = {name: str(uuid.uuid4()) for name in cases}
        async with sessions() as session, session.begin():
            for name, (state, document, expires) in cases.items():
                session.add(
                    Alert(
                        id=ids[name], sender=document["sender"], identifier=document["identifier"],
                        sent_text=document["sent"], sent_at=now, status="Actual", msg_type="Alert", state=state,
                        headline=document["info"][0]["headline"], expires_at=expires, cap=document,
                        submitted_by="test",
                    )
                )  # fmt: skip
        assert not _parses(cases["pending"][1]) and not _parses(cases["in_force"][1])  # what the old rows were

        await upgrade(engine, "0017")

        async with sessions() as session:
            alerts = {name: await session.get(Alert, ids[name]) for name in cases}
            audit = {
                event.subject_id: event
                for event in await session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "alert"))
            }
        pending, in_force = alerts["pending"], alerts["in_force"]
        assert pending is not None and in_force is not None
        info = pending.cap["info"][0]
        assert (info["headline"], info["description"], info["area"][0]["areaDesc"]) == (
            "Gas leak", "Leave now", "Old town",
        )  # fmt: skip
        assert pending.headline == "Gas leak"
        assert in_force.cap["info"][0]["instruction"] == "Go to llih eht"
        assert _parses(pending.cap) and _parses(in_force.cap)  # can be approved, sent, cancelled, updated again
        cleaned = audit[ids["pending"]]
        assert (cleaned.actor, cleaned.action) == ("system", "alert.text_cleaned")
        assert cleaned.detail["originals"]["info[0].headline"] == f"Gas{ZWSP} leak"  # the exact original is kept
        assert cleaned.detail["originals"]["info[0].area[0].areaDesc"] == f"Old{ZWSP} town"
        assert cleaned.detail["characters"] == ["U+200B ZERO WIDTH SPACE", "U+00AD SOFT HYPHEN"]
        assert audit[ids["in_force"]].detail["characters"] == ["U+202E RIGHT-TO-LEFT OVERRIDE"]

        for name in ("over", "cancelled"):  # over: the record stays what residents received
            alert = alerts[name]
            assert alert is not None and alert.cap == cases[name][1]
            assert audit[ids[name]].action == "alert.hidden_characters_kept"
            assert audit[ids[name]].detail["fields"] == ["info[0].headline", "headline (column)"]
        clean = alerts["clean"]
        assert clean is not None and clean.cap["info"][0]["headline"] == KEPT and ids["clean"] not in audit
    finally:
        await engine.dispose()
