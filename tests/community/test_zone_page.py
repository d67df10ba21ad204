"""The public zone page ``/z/{zone}``: the zone's map (basemap in data- attributes, no inline script or style), its
public warnings in force and no others, upcoming meetings, priorities with support and status, how to sign up and
send a tip; in English, French and Spanish; no personal data; a page saying so for an unknown zone."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from alertsvc.alerts import service
from alertsvc.cap import parse_cap_json
from alertsvc.clock import utcnow
from alertsvc.community.meetings import create_meeting
from alertsvc.community.priorities import PriorityStatus, moderate, propose, support
from alertsvc.runtime import Runtime
from alertsvc.security.principal import SYSTEM
from alertsvc.store.models import Alert
from tests.factories import add_resident, cap_alert

OLD_MILL_POLYGON = "45.485,-73.575 45.485,-73.565 45.495,-73.565 45.495,-73.575 45.485,-73.575"


async def _sent(runtime: Runtime, document: dict[str, Any]) -> str:
    async with runtime.sessions() as session, session.begin():
        submission = await service.submit(session, parse_cap_json(document), SYSTEM)
        await session.execute(update(Alert).where(Alert.id == submission.alert.id).values(state="sent"))
    return submission.alert.id


def _headline(text: str) -> dict[str, Any]:
    document = cap_alert(polygon=OLD_MILL_POLYGON)
    document["info"][0]["headline"] = text
    return document


async def test_zone_page_shows_what_is_public_about_the_zone(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await _sent(runtime, _headline("Gas leak on Mill Road"))
    elsewhere = cap_alert()  # a square far east of the city
    elsewhere["info"][0]["headline"] = "Flood far away"
    await _sent(runtime, elsewhere)
    restricted = _headline("Staff only")
    restricted["scope"], restricted["restriction"] = "Restricted", "staff"
    await _sent(runtime, restricted)
    starts = utcnow() + timedelta(days=2)
    await create_meeting(
        runtime, zone="Old Mill", title="Safety walk", starts_at=starts, ends_at=starts + timedelta(hours=1),
        place="Mill Road hall", description="", created_by="test",
    )  # fmt: skip
    resident = await add_resident(runtime.sessions, 45.49, -73.57, sms="+15145550301", ref="ref-secret-301")
    neighbour = await add_resident(runtime.sessions, 45.49, -73.57, sms="+15145550302")
    priority = await propose(runtime, resident.id, "Old Mill", "Lighting in the lane")
    await support(runtime, neighbour.id, priority.id)
    await moderate(runtime, priority.id, actor="test", status=PriorityStatus.IN_PROGRESS, response="New lamps ordered.")
    hidden = await propose(runtime, resident.id, "Old Mill", "Rude proposal")
    await moderate(runtime, hidden.id, actor="test", hidden=True)

    page = await client.get("/z/Old Mill", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert '<html lang="en">' in text and "<h1>Old Mill</h1>" in text
    assert "Gas leak on Mill Road" in text and "Flood far away" not in text and "Staff only" not in text
    assert "Safety walk" in text and "Mill Road hall" in text and 'href="/z/Old%20Mill/meetings.ics"' in text
    assert "Lighting in the lane" in text and "2 supporters" in text and "In progress" in text
    assert "New lamps ordered." in text and "Rude proposal" not in text
    assert 'href="/r/subscribe?lang=en"' in text and "TIP" in text
    assert "+1514555030" not in text and "ref-secret-301" not in text  # no personal data
    assert 'id="zone-map"' in text and 'data-zone="/z/Old%20Mill/zone.geojson"' in text and "data-tile-url=" in text
    assert not re.search(r"<script(?![^>]*\bsrc=)", text) and " style=" not in text and "<style" not in text
    assert '<script src="/static/zone-map.js" defer></script>' in text
    assert page.headers["cache-control"] == "public, max-age=60"
    labels = re.findall(r'<label for="([^"]+)"', text)
    assert all(f'id="{name}"' in text for name in labels)

    outline = await client.get("/z/Old Mill/zone.geojson")
    assert outline.status_code == 200
    assert outline.json()["features"][0]["geometry"]["type"] == "Polygon"
    assert (await client.get("/static/zone-map.js")).status_code == 200


async def test_zone_page_speaks_french_and_spanish(runtime: Runtime, client: httpx.AsyncClient) -> None:
    resident = await add_resident(runtime.sessions, 45.49, -73.57, sms="+15145550311")
    await propose(runtime, resident.id, "Old Mill", "Speeding")
    french = await client.get("/z/Old Mill?lang=fr")
    assert '<html lang="fr">' in french.text and "Alertes en vigueur" in french.text and "1 soutien" in french.text
    assert "Ouverte" in french.text
    spanish = await client.get("/z/Old Mill", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert '<html lang="es">' in spanish.text and "Próximas reuniones" in spanish.text and "1 apoyo" in spanish.text


async def test_unknown_zone_is_a_404_page(client: httpx.AsyncClient) -> None:
    for path in ("/z/Atlantis", "/z/" + "x" * 101):
        missing = await client.get(path, headers={"Accept-Language": "fr"})
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
    missing = await client.get("/z/Atlantis?lang=fr")
    assert missing.status_code == 404 and "Il n&#39;y a pas de quartier de ce nom." in missing.text
    assert (await client.get("/z/Atlantis/zone.geojson")).status_code == 404
