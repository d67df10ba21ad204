"""One benchmark alert, end to end: a CAP document posted to the HTTP API with a key holding ``alerts:send``, then
awaited at the stand-ins until every expected message has arrived and at the API until the alert is ``sent``.

Through the API, as a sender would, so that the API's own work (validation, storing the alert, enqueueing the
fan-out) is in the time to the first message. Arrival times are read from the stand-ins (the same wall clock
across processes), so the rate is first to last message where the messages land.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._fanout.config import ALERT_WORDS
from bench._fanout.standin import Arrivals, Standin, rate_of


def cap_document(polygon: str, label: str) -> dict[str, Any]:
    """A CAP alert (the API's JSON form) for ``polygon``, sent now, expiring in two hours, with a unique
    identifier that starts with ``label``."""
    now = datetime.now(UTC).replace(microsecond=0)

    def cap_time(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")

    return {
        "identifier": f"BENCH-{label}-{time.time_ns()}",
        "sender": "bench@city.example",
        "sent": cap_time(now),
        "status": "Actual",
        "msgType": "Alert",
        "scope": "Public",
        "info": [
            {
                **ALERT_WORDS,
                "category": ["Met"],
                "urgency": "Immediate",
                "severity": "Severe",
                "certainty": "Observed",
                "expires": cap_time(now + timedelta(hours=2)),
                "area": [{"areaDesc": "bench polygon", "polygon": [polygon]}],
            }
        ],
    }


@dataclass
class AlertRun:
    """One channel of one alert, as the stand-in saw it (times in seconds from sending the POST)."""

    expected: int
    arrived: int
    accept_to_first: float
    rate: float
    api_seconds: float
    final_state: str


async def send_alert(api: str, key: str, polygon: str, label: str, standins: dict[str, Standin],
                     expected: dict[str, int], within: float) -> dict[str, AlertRun]:  # fmt: skip
    """Post an alert; wait until every expected message arrived and the alert is ``sent``."""
    import httpx

    for channel in expected:
        standins[channel].reset()
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=30) as client:
        posted = time.time()
        response = await client.post("/api/v1/alerts", json=cap_document(polygon, label))
        accepted = time.time()
        if response.status_code != 201:
            raise RuntimeError(f"alert refused: {response.status_code} {response.text[:500]}")
        alert_id = response.json()["id"]
        deadline = time.monotonic() + within
        arrivals = {channel: Arrivals() for channel in expected}
        while time.monotonic() < deadline:
            arrivals = {channel: standins[channel].stats() for channel in expected}
            if all(arrivals[c].count >= n for c, n in expected.items()):
                break
            await asyncio.sleep(0.25)
        state = "?"
        while time.monotonic() < deadline + 30:
            state = (await client.get(f"/api/v1/alerts/{alert_id}")).json()["state"]
            if state == "sent":
                break
            await asyncio.sleep(0.25)
    runs = {}
    for channel, n in expected.items():
        got = arrivals[channel]
        first = got.first - posted if got.count else float("nan")
        runs[channel] = AlertRun(n, got.count, first, rate_of(got), accepted - posted, state)
    return runs
