"""Public feeds of the alerts in force: ``/feeds/alerts.atom`` (a CAP index feed), ``/feeds/alerts/{id}.cap`` and
``/feeds/alerts.geojson``, for CAP aggregators (Google Public Alerts and others), feed readers and maps.

The Atom feed is the shape aggregators read (Google's CAP feed guidelines, the NWS and Environment Canada index
feeds): one ``entry`` per alert with ``id``, ``title``, ``updated``, ``published``, ``author``, a ``summary`` and a
``link rel="alternate" type="application/cap+xml"`` to the full CAP 1.2 document. Which alerts qualify is decided
in :mod:`alertsvc.alerts.public`. Feeds are polled, often, by many readers: each answer carries ``Cache-Control``
and a strong ``ETag`` of its bytes, and ``If-None-Match`` with that tag answers 304 without a body.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from alertsvc.alerts.public import PublicAlert, geometry_of, public_alert, public_alerts_in_force
from alertsvc.cap import alert_to_xml, format_cap_time
from alertsvc.runtime import Runtime

__all__ = ["ATOM", "CACHE_CONTROL", "CAP_XML", "cap_url", "router"]

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM = "application/atom+xml"
CAP_XML = "application/cap+xml"
GEOJSON = "application/geo+json"
CACHE_CONTROL = "public, max-age=60"
"""A minute: a warning must reach readers quickly, and the ETag makes each later check cheap."""
SUMMARY_CHARS = 500
"""An entry's summary is the start of the description; the CAP document has the whole of it."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The ``updated`` of a feed with no entry: a fixed time, so an empty feed keeps one ETag between polls."""

router = APIRouter(include_in_schema=False)
AlertId = Annotated[str, Path(max_length=36)]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def cap_url(base: str, alert_id: str) -> str:
    """The address of one alert's CAP document in the feed."""
    return f"{base.rstrip('/')}/feeds/alerts/{alert_id}.cap"


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cached(request: Request, body: bytes, media_type: str) -> Response:
    """``body`` with Cache-Control and its ETag, or 304 when the reader already holds these bytes."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
    if_none_match = request.headers.get("if-none-match", "")
    held = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    if etag in held or "*" in held:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _sub(parent: ET.Element, name: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, name, attributes)
    if text is not None:
        element.text = text
    return element


def atom_feed(alerts: list[PublicAlert], base: str, title: str) -> bytes:
    """The Atom 1.0 document (RFC 4287) indexing ``alerts``."""
    base = base.rstrip("/")
    feed = ET.Element("feed", xmlns=ATOM_NS)  # unprefixed names in Atom's default namespace, as readers expect
    _sub(feed, "id", f"{base}/feeds/alerts.atom")
    _sub(feed, "title", title)
    _sub(feed, "updated", _rfc3339(max((alert.updated_at for alert in alerts), default=EPOCH)))
    _sub(_sub(feed, "author"), "name", title)
    _sub(feed, "link", rel="self", type=ATOM, href=f"{base}/feeds/alerts.atom")
    _sub(feed, "link", rel="alternate", type="text/html", href=f"{base}/")
    _sub(feed, "generator", "alertsvc")
    for alert in alerts:
        info = alert.cap.info[0] if alert.cap.info else None
        entry = _sub(feed, "entry")
        link = cap_url(base, alert.id)
        _sub(entry, "id", link)
        headline = (info.headline or info.event) if info is not None else None
        _sub(entry, "title", headline or alert.cap.identifier)
        _sub(entry, "updated", _rfc3339(alert.updated_at))
        _sub(entry, "published", _rfc3339(alert.sent_at))
        sender_name = info.sender_name if info is not None else None
        _sub(_sub(entry, "author"), "name", sender_name or alert.cap.sender)
        _sub(entry, "link", rel="alternate", type=CAP_XML, href=link)
        description = (info.description or "") if info is not None else ""
        if description:
            _sub(entry, "summary", description[:SUMMARY_CHARS], type="text")
    ET.indent(feed, space="  ")
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document


def geojson_feed(alerts: list[PublicAlert], base: str, runtime: Runtime) -> bytes:
    """A GeoJSON FeatureCollection (RFC 7946, ``[lon, lat]``): one Feature per alert, its areas as geometry."""
    features = []
    for alert in alerts:
        info = alert.cap.info[0] if alert.cap.info else None
        features.append(
            {
                "type": "Feature",
                "id": alert.id,
                "geometry": geometry_of(alert.cap, runtime.zones),
                "properties": {
                    "identifier": alert.cap.identifier,
                    "sender": alert.cap.sender,
                    "sent": format_cap_time(alert.cap.sent),
                    "msgType": str(alert.cap.msg_type),
                    "expires": _rfc3339(alert.expires_at) if alert.expires_at else None,
                    "event": info.event if info is not None else None,
                    "headline": info.headline if info is not None else None,
                    "severity": str(info.severity) if info is not None else None,
                    "urgency": str(info.urgency) if info is not None else None,
                    "language": info.language if info is not None else None,
                    "cap": cap_url(base, alert.id),
                },
            }
        )
    document = {"type": "FeatureCollection", "features": features}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@router.get("/feeds/alerts.atom")
async def alerts_atom(request: Request) -> Response:
    runtime = _runtime(request)
    alerts = await public_alerts_in_force(runtime)
    body = atom_feed(alerts, runtime.settings.public_url, f"{runtime.settings.service_name}: public alerts in force")
    return _cached(request, body, ATOM)


@router.get("/feeds/alerts.geojson")
async def alerts_geojson(request: Request) -> Response:
    runtime = _runtime(request)
    alerts = await public_alerts_in_force(runtime)
    return _cached(request, geojson_feed(alerts, runtime.settings.public_url, runtime), GEOJSON)


@router.get("/feeds/alerts/{alert_id}.cap")
async def alert_cap(request: Request, alert_id: AlertId) -> Response:
    """The CAP 1.2 document of one public alert in force; 404 for any other (cancelled, expired, not public)."""
    alert = await public_alert(_runtime(request), alert_id)
    if alert is None:
        return Response("no public alert in force with this id\n", status_code=404, media_type="text/plain")
    return _cached(request, alert_to_xml(alert.cap), CAP_XML)
