"""Every route family has a body limit, enforced while the body is read (alertsvc.http.body_limit).

A chunked body (no Content-Length) of 200 MB is refused with 413 once the limit is passed; the generator that
makes it counts what it yielded, and over the in-process ASGI transport a chunk is yielded only when the
application asks for one, so the count is what the server read: at most the limit and one chunk. A Content-Length
over the limit is refused before anything is read; one that lies (smaller than the body) changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from alertsvc.http.body_limit import FORM_BYTES, IMPORT_BYTES, JSON_BYTES, LIMITS, limit_for
from alertsvc.runtime import Runtime
from alertsvc.security.links import LinkSigner
from alertsvc.store.models import Contact
from tests.conftest import KeyMaker, auth
from tests.console.helpers import signed_in
from tests.factories import add_resident

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

CHUNK = 64 * 1024
HUGE = 200 * 1024 * 1024
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


class Flood:
    """A body of ``total`` bytes in ``CHUNK``-byte pieces that counts how many bytes it has handed out."""

    def __init__(self, total: int = HUGE, head: bytes = b"") -> None:
        self.total = total
        self.head = head
        self.yielded = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.head:
            self.yielded += len(self.head)
            yield self.head
        while self.yielded < self.total:
            piece = b"x" * min(CHUNK, self.total - self.yielded)
            self.yielded += len(piece)
            yield piece


def _refused(response: httpx.Response, flood: Flood, limit: int) -> None:
    assert response.status_code == 413, (response.status_code, response.text[:300])
    assert flood.yielded <= limit + CHUNK, f"the server read {flood.yielded} bytes past a {limit}-byte limit"


async def _api_key(make_key: KeyMaker) -> dict[str, str]:
    return auth(await make_key("alerts:read", "alerts:write", "residents:write"))


@SQLITE
async def test_a_streamed_huge_body_to_each_api_route_is_refused_after_its_limit(
    client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime
) -> None:
    headers = await _api_key(make_key)
    cases = [
        ("/api/v1/targeting/preview", JSON, JSON_BYTES, b'{"areaDesc": "'),
        ("/api/v1/alerts", JSON, runtime.settings.max_alert_bytes, b'{"identifier": "'),
        ("/api/v1/residents", JSON, 64 * 1024, b'{"ref": "'),  # read_limited: one resident, tighter
        ("/api/v1/meetings", JSON, JSON_BYTES, b'{"title": "'),
        ("/hooks/twilio/status", FORM, FORM_BYTES, b"Body="),
        ("/hooks/twilio/inbound", FORM, FORM_BYTES, b"Body="),
    ]
    for path, kind, limit, head in cases:
        flood = Flood(head=head)
        response = await client.post(path, content=flood, headers={**headers, **kind})
        _refused(response, flood, limit)
        assert response.headers["content-type"] == "application/problem+json", path
        problem = response.json()
        assert problem["status"] == 413 and str(limit) in problem["detail"], (path, problem)


@SQLITE
async def test_a_streamed_huge_form_to_each_page_is_refused_after_the_form_limit(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    resident = await add_resident(runtime.sessions, 45.5, -73.5, email="flood@example.org")
    async with runtime.sessions() as session:
        contact_id = await session.scalar(select(Contact.id).where(Contact.resident_id == resident.id))
    assert contact_id is not None
    unsubscribe = LinkSigner(runtime.settings.signing_key(), "unsubscribe").sign(contact_id)
    for path in ("/r/subscribe", "/r/confirm", "/a/1.x", "/console/login"):
        flood = Flood(head=b"csrf=")
        response = await client.post(path, content=flood, headers={**FORM, "Accept-Language": "fr"})
        _refused(response, flood, FORM_BYTES)
        assert response.headers["content-type"].startswith("text/html"), path
        assert "Trop volumineux" in response.text and "64 Kio" in response.text, response.text
        assert response.headers["content-security-policy"], "the page keeps the security headers"
    # The one-click unsubscribe (RFC 8058) never reads its body: nothing of the flood is read ...
    flood = Flood()
    assert (await client.post(f"/u/{unsubscribe}", content=flood, headers=FORM)).status_code == 200
    assert flood.yielded == 0
    # ... and a declared length over the limit is refused before the route runs.
    declared = {**FORM, "Content-Length": str(FORM_BYTES + 1)}
    assert (await client.post(f"/u/{unsubscribe}", content=Flood(), headers=declared)).status_code == 413


@SQLITE
async def test_the_console_compose_form_takes_an_alert_sized_body(runtime: Runtime) -> None:
    dispatcher, _ = await signed_in(runtime, "dispatcher")
    try:
        limit = runtime.settings.max_alert_bytes
        for path in ("/console/alerts/new", "/console/compose/preview.json", "/console/password"):
            expected = FORM_BYTES if path == "/console/password" else limit
            flood = Flood(head=b"csrf_token=")
            response = await dispatcher.post(path, content=flood, headers=FORM)
            _refused(response, flood, expected)
            assert flood.yielded > expected, "the whole limit was allowed through"
    finally:
        await dispatcher.aclose()


@SQLITE
async def test_a_lying_content_length_does_not_lift_the_limit(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    headers = await _api_key(make_key)
    for path, kind, limit in (("/api/v1/targeting/preview", JSON, JSON_BYTES), ("/r/subscribe", FORM, FORM_BYTES)):
        flood = Flood()
        response = await client.post(path, content=flood, headers={**headers, **kind, "Content-Length": "100"})
        _refused(response, flood, limit)


@SQLITE
async def test_a_content_length_over_the_limit_is_refused_before_anything_is_read(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    headers = await _api_key(make_key)
    for path, kind, limit in (
        ("/api/v1/residents/import", {"Content-Type": "application/x-ndjson"}, IMPORT_BYTES),
        ("/api/v1/targeting/preview", JSON, JSON_BYTES),
        ("/hooks/twilio/status", FORM, FORM_BYTES),
        ("/r/subscribe", FORM, FORM_BYTES),
    ):
        flood = Flood()
        declared = {"Content-Length": str(limit + 1)}
        response = await client.post(path, content=flood, headers={**headers, **kind, **declared})
        assert response.status_code == 413, (path, response.status_code)
        assert flood.yielded <= CHUNK, (path, flood.yielded)


@SQLITE
async def test_the_import_streams_past_the_json_limit(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    """The import's own, larger limit: two MiB of rows are read and stored, not refused at 1 MiB."""
    headers = await _api_key(make_key)
    rows = b"".join(b'{"ref": "r-%d", "lat": 45.5, "lon": -73.5}\n' % n for n in range(50_000))
    assert len(rows) > 2 * JSON_BYTES
    response = await client.post(
        "/api/v1/residents/import", content=rows, headers={**headers, "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json()["created"] == 50_000


def test_one_table_gives_every_family_its_limit() -> None:
    assert len({limit.prefix for limit in LIMITS}) == len(LIMITS)
    expected = {
        "/api/v1/residents/import": IMPORT_BYTES,
        "/api/v1/alerts": 5000,
        "/api/v1/alerts/1/cancel": 5000,
        "/api/v1/targeting/preview": JSON_BYTES,
        "/hooks/twilio/status": FORM_BYTES,
        "/console/alerts/new": 5000,
        "/console/login": FORM_BYTES,
        "/a/x": FORM_BYTES,
        "/u/x": FORM_BYTES,
        "/r/subscribe": FORM_BYTES,
        "/healthz": FORM_BYTES,
    }
    assert {path: limit_for(path, 5000) for path in expected} == expected
