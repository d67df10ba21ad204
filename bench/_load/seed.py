"""The data the return path needs, made the way production makes it: residents imported through the API, one
Severe alert over them sent through the API, the real Twilio adapter sending each SMS to the Twilio stand-in (which
answers with a message sid, as Twilio does), then the deliveries read back from the database.

So every seeded delivery is ``sent``, with the provider id the stand-in gave it, and the status callbacks and
acknowledgement links that follow name deliveries that exist, exactly as Twilio's and the residents' would. The
worker runs only while the seed alert goes out; the measurements after it see the API alone. Nothing here calls
alertsvc's internals: the API and ``alertsvc worker`` make the data, and plain SQL over the documented tables
reads it back.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._fanout.services import stop_service
from bench._load.services import start_worker

BOX = (52.50, 13.40, 52.51, 13.41)
"""Where the seeded residents live (south, west, north, east): a corner of Berlin, one numbering plan (+49)."""
SEED_SENDER = "seed@city.example"


@dataclass(frozen=True, slots=True)
class Message:
    """One seeded SMS: its delivery, its resident, the stand-in's message sid and the number it went to."""

    delivery_id: int
    resident_id: int
    sid: str
    to: str


@dataclass
class Seeded:
    alert_id: str
    messages: list[Message]
    seconds: float


def resident_rows(count: int) -> bytes:
    """``count`` residents as NDJSON, each with a German mobile number, all inside :data:`BOX`."""
    south, west, north, east = BOX
    lines = []
    for i in range(count):
        lat = south + (north - south) * ((i % 997) + 0.5) / 997
        lon = west + (east - west) * (((i // 997) % 991) + 0.5) / 991
        lines.append(json.dumps({"ref": f"load-{i}", "lat": round(lat, 6), "lon": round(lon, 6), "language": "en",
                                 "sms": f"+4915{i:09d}"}))  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


def seed_alert() -> dict[str, object]:
    """A Severe, Immediate CAP alert (JSON form) over the whole box, expiring in three hours."""
    now = datetime.now(UTC).replace(microsecond=0)
    south, west, north, east = BOX
    margin = 0.001
    ring = [(south - margin, west - margin), (south - margin, east + margin), (north + margin, east + margin),
            (north + margin, west - margin), (south - margin, west - margin)]  # fmt: skip
    return {
        "identifier": f"LOAD-SEED-{time.time_ns()}",
        "sender": SEED_SENDER,
        "sent": now.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "status": "Actual",
        "msgType": "Alert",
        "scope": "Public",
        "info": [
            {
                "language": "en-US",
                "category": ["Safety"],
                "event": "Gas leak",
                "urgency": "Immediate",
                "severity": "Severe",
                "certainty": "Observed",
                "headline": "Gas leak: leave the area",
                "instruction": "Leave the area now, on foot. Tell us whether you are safe.",
                "expires": (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                "area": [{"areaDesc": "seed box", "polygon": [" ".join(f"{lat},{lon}" for lat, lon in ring)]}],
            }
        ],
    }


async def read_messages(url: str, alert_id: str) -> list[Message]:
    """The alert's SMS deliveries that are ``sent``, with their provider ids and numbers, in delivery order."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT d.id, d.resident_id, d.provider_id, c.address FROM deliveries d "
                    "JOIN contacts c ON c.id = d.contact_id "
                    "WHERE d.alert_id = :alert AND d.channel = 'sms' AND d.state = 'sent' ORDER BY d.id"
                ),
                {"alert": alert_id},
            )
            return [Message(int(i), int(r), str(sid), str(to)) for i, r, sid, to in rows]
    finally:
        await engine.dispose()


async def seed(api: str, key: str, env: dict[str, str], database_url: str, count: int, logs: Path) -> Seeded:
    """Import ``count`` residents, send them one alert through a worker and the stand-in; the sent messages."""
    import httpx

    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=httpx.Timeout(600, connect=10)) as client:
        answer = await client.post("/api/v1/residents/import", content=resident_rows(count),
                                   headers={"Content-Type": "application/x-ndjson"})  # fmt: skip
        answer.raise_for_status()
        report = answer.json()
        if report["created"] + report["updated"] != count:
            raise RuntimeError(f"seed import refused rows: {json.dumps(report)[:500]}")
        posted = await client.post("/api/v1/alerts", json=seed_alert())
        if posted.status_code != 201:
            raise RuntimeError(f"seed alert refused: {posted.status_code} {posted.text[:500]}")
        alert_id = str(posted.json()["id"])
        worker = start_worker(env, logs / "worker.log")
        try:
            within = 120 + count / 200
            deadline = time.monotonic() + within
            state = "?"
            while time.monotonic() < deadline:
                alert = (await client.get(f"/api/v1/alerts/{alert_id}")).json()
                state = alert["state"]
                if state == "sent":
                    break
                await asyncio.sleep(0.5)
            if state != "sent":
                raise RuntimeError(f"seed alert still {state!r} after {within:.0f} s")
        finally:
            stop_service(worker)
    messages = await read_messages(database_url, alert_id)
    if len(messages) != count:
        raise RuntimeError(f"seeded {len(messages)} sent SMS of {count}")
    return Seeded(alert_id, messages, time.perf_counter() - started)
