"""The public feeds: the Atom index is valid Atom (RFC 4287) listing exactly the public Actual alerts in force, each
CAP link answers a CAP 1.2 document valid against cap12.xsd, the GeoJSON draws them, and polling is cheap (ETag)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import xmlschema
from lxml import etree
from sqlalchemy import update

from alertsvc.alerts import service
from alertsvc.cap import parse_cap_json
from alertsvc.clock import utcnow
from alertsvc.runtime import Runtime
from alertsvc.security.principal import SYSTEM
from alertsvc.store.models import Alert
from tests.factories import cap_alert

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = Path(__file__).parents[1] / "data" / "cap-samples" / "cap12.xsd"


async def _stored(runtime: Runtime, document: dict[str, Any], state: str, **columns: Any) -> str:
    """An alert stored from ``document`` and put in ``state`` (the lifecycle itself is tested elsewhere)."""
    async with runtime.sessions() as session, session.begin():
        submission = await service.submit(session, parse_cap_json(document), SYSTEM)
        alert_id = submission.alert.id
        await session.execute(update(Alert).where(Alert.id == alert_id).values(state=state, **columns))
    return alert_id


def _check_atom(root: etree._Element) -> None:
    """RFC 4287's required elements: the feed's id, title, updated and author (or every entry's); each entry's id,
    title, updated and a link or content; ids are absolute IRIs, times RFC 3339."""
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{name}")) == 1, name
    assert root.find(f"{ATOM}author/{ATOM}name") is not None
    assert root.findtext(f"{ATOM}id", "").startswith("http://testserver/")
    ids = [entry.findtext(f"{ATOM}id") for entry in root.findall(f"{ATOM}entry")]
    assert len(ids) == len(set(ids))
    for entry in root.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
            assert entry.findtext(f"{ATOM}{name}")
        assert entry.findtext(f"{ATOM}updated", "").endswith("Z")
        links = entry.findall(f"{ATOM}link[@rel='alternate']")
        assert len(links) == 1 and links[0].get("type") == "application/cap+xml"


async def test_atom_lists_public_alerts_in_force_and_each_cap_link_validates(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    in_force = await _stored(runtime, cap_alert(), "sent")
    dispatching = await _stored(runtime, cap_alert(), "dispatching")
    cancelled = await _stored(runtime, cap_alert(), "cancelled")
    expired = await _stored(runtime, cap_alert(), "sent", expires_at=utcnow() - timedelta(minutes=1))
    restricted = await _stored(runtime, {**cap_alert(), "scope": "Restricted", "restriction": "staff"}, "sent")
    exercise = await _stored(runtime, cap_alert(status="Exercise"), "sent")
    pending = await _stored(runtime, cap_alert(), "pending_approval")

    answer = await client.get("/feeds/alerts.atom")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(answer.content)
    _check_atom(root)
    links = [link.get("href") for link in root.iter(f"{ATOM}link") if link.get("type") == "application/cap+xml"]
    assert sorted(links) == sorted(f"http://testserver/feeds/alerts/{i}.cap" for i in (in_force, dispatching))

    schema = xmlschema.XMLSchema(str(SCHEMA))
    for link in links:
        cap = await client.get(link.removeprefix("http://testserver"))
        assert cap.status_code == 200 and cap.headers["content-type"] == "application/cap+xml"
        schema.validate(cap.content)
    for absent in (cancelled, expired, restricted, exercise, pending, "no-such-alert"):
        assert (await client.get(f"/feeds/alerts/{absent}.cap")).status_code == 404


async def test_feeds_answer_304_to_the_etag_they_gave_and_change_with_the_alerts(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    empty = await client.get("/feeds/alerts.atom")
    assert empty.headers["cache-control"].startswith("public, max-age=")
    _check_atom(etree.fromstring(empty.content))
    again = await client.get("/feeds/alerts.atom", headers={"If-None-Match": empty.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == empty.headers["etag"]

    await _stored(runtime, cap_alert(), "sent")
    changed = await client.get("/feeds/alerts.atom", headers={"If-None-Match": empty.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != empty.headers["etag"]

    geo = await client.get("/feeds/alerts.geojson")
    held = {"If-None-Match": f'"other", {geo.headers["etag"]}'}
    assert (await client.get("/feeds/alerts.geojson", headers=held)).status_code == 304


async def test_geojson_draws_each_alert_lon_lat(runtime: Runtime, client: httpx.AsyncClient) -> None:
    polygon_alert = await _stored(runtime, cap_alert(), "sent")
    circle_alert = await _stored(runtime, cap_alert(polygon=None, circle="45.5,-72.5 10"), "sent")
    await _stored(runtime, cap_alert(), "cancelled")

    answer = await client.get("/feeds/alerts.geojson")
    assert answer.headers["content-type"].startswith("application/geo+json")
    document = json.loads(answer.content)
    assert document["type"] == "FeatureCollection"
    features = {feature["id"]: feature for feature in document["features"]}
    assert set(features) == {polygon_alert, circle_alert}
    ring = features[polygon_alert]["geometry"]["geometries"][0]["coordinates"][0]
    assert [-73.0, 45.0] in ring and ring[0] == ring[-1]  # [lon, lat], CAP's "45.0,-73.0" turned round
    circle = features[circle_alert]["geometry"]["geometries"][0]["coordinates"][0]
    assert len(circle) == 65 and circle[0] == circle[-1]
    assert all(-72.7 < lon < -72.3 and 45.4 < lat < 45.6 for lon, lat in circle)
    assert features[polygon_alert]["properties"]["cap"].endswith(f"/feeds/alerts/{polygon_alert}.cap")
