"""Imported contacts get a consent record: who vouched for them, how and when."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from alertsvc.runtime import Runtime
from alertsvc.store.models import ConsentEvent, Contact
from tests.conftest import KeyMaker, auth


async def test_import_records_consent_per_contact(
    client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker
) -> None:
    key = await make_key("residents:write")
    body = b'{"ref":"c-1","lat":45.5,"lon":-73.5,"sms":"+15145550150","email":"c1@example.org"}\n'
    response = await client.post(
        "/api/v1/residents/import", content=body, headers={**auth(key), "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 200, response.text
    async with runtime.sessions() as session:
        contacts = {c.id: c.channel for c in await session.scalars(select(Contact))}
        events = list(await session.scalars(select(ConsentEvent)))
    assert sorted((e.channel, e.action, e.method) for e in events) == [
        ("email", "opt_in", "import"),
        ("sms", "opt_in", "import"),
    ]
    assert {e.contact_id for e in events} == set(contacts)
