"""``POST /api/v1/residents``, ``GET`` and ``DELETE /api/v1/residents/{ref}`` through the real app and database."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from alertsvc.runtime import Runtime
from alertsvc.store.models import Resident
from tests.conftest import KeyMaker, auth
from tests.residents.helpers import contacts_of, count, opt_out, resident, stored_resident

SMS = "+4915112345678"


async def test_post_creates_then_updates_and_get_masks_addresses(
    client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime
) -> None:
    key = await make_key("residents:write", "residents:read")
    body = resident("r-1", sms="+49 (151) 1234-5678", email="Ana@Example.ORG", language="pt-br")
    created = await client.post("/api/v1/residents", json=body, headers=auth(key))
    assert created.status_code == 201, created.text
    assert created.headers["location"].endswith("/api/v1/residents/r-1")
    assert created.json()["language"] == "pt-BR"

    again = await client.post("/api/v1/residents", json=resident("r-1", lat=48.1, sms=SMS), headers=auth(key))
    assert again.status_code == 200, again.text
    assert again.json()["lat"] == 48.1
    assert await count(runtime, Resident) == 1

    shown = (await client.get("/api/v1/residents/r-1", headers=auth(key))).json()
    by_channel = {c["channel"]: c for c in shown["contacts"]}
    assert by_channel["sms"]["address"] == "**********5678"
    assert "Ana" not in by_channel["email"]["address"] and by_channel["email"]["address"].endswith(".org")
    assert all(c["confirmed"] and not c["opted_out"] for c in shown["contacts"])
    stored = {c.channel: c.address for c in await contacts_of(runtime, "r-1")}
    assert stored == {"sms": SMS, "email": "Ana@example.org"}  # E.164; domain lower-cased, local part kept


async def test_valid_preferences_are_stored_canonically(
    client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime
) -> None:
    key = await make_key("residents:write")
    body = resident(
        "r-2",
        categories="fire; met,FIRE",
        min_severity="severe",
        test_recipient="yes",
        quiet_start="22:00",
        quiet_end="6:30",
        timezone="Europe/Berlin",
        push="ntfy://alertsvc-test-topic",
    )
    response = await client.post("/api/v1/residents", json=body, headers=auth(key))
    assert response.status_code == 201, response.text
    stored = await stored_resident(runtime, "r-2")
    assert stored is not None
    assert (stored.categories, stored.min_severity, stored.test_recipient) == ("Met,Fire", "Severe", True)
    assert (stored.quiet_start, stored.quiet_end, stored.timezone) == ("22:00", "06:30", "Europe/Berlin")
    assert [(c.channel, c.address) for c in await contacts_of(runtime, "r-2")] == [
        ("push", "ntfy://alertsvc-test-topic")
    ]

    listed = await client.post(
        "/api/v1/residents", json=resident("r-3", categories=["Geo", "CBRNE"]), headers=auth(key)
    )
    assert listed.json()["categories"] == ["Geo", "CBRNE"]
    everything = await client.post("/api/v1/residents", json=resident("r-3", categories=""), headers=auth(key))
    assert everything.json()["categories"] is None  # empty: every category


async def test_resident_without_contacts_is_accepted(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("residents:write", "residents:read")
    response = await client.post("/api/v1/residents", json=resident("bare"), headers=auth(key))
    assert response.status_code == 201
    assert response.json()["contacts"] == []


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("ref", {"ref": ""}, "is required"),
    ("ref", {"ref": "x" * 101}, "1 to 100"),
    ("ref", {"ref": "~deleted:7"}, "reserved"),
    ("lat", {"lat": 90.5}, "between -90 and 90"),
    ("lat", {"lat": "north"}, "must be a number"),
    ("lat", {"lat": None}, "is required"),
    ("lon", {"lon": -180.01}, "between -180 and 180"),
    ("lon", {"lon": True}, "must be a number"),
    ("language", {"language": "english!"}, "language tag"),
    ("sms", {"sms": "030 1234567"}, "international form"),
    ("sms", {"sms": "+49 12"}, "not a valid phone number"),
    ("sms", {"sms": "+()"}, "phone number"),
    ("email", {"email": "ana.example.org"}, "not a valid e-mail"),
    ("push", {"push": "file:///etc/passwd"}, "not allowed"),
    ("push", {"push": "ntfy://127.0.0.1/topic"}, "private"),
    ("categories", {"categories": "Weather"}, "unknown category"),
    ("categories", {"categories": [1, 2]}, "list of category names"),
    ("min_severity", {"min_severity": "Unknown"}, "one of Minor, Moderate, Severe, Extreme"),
    ("test_recipient", {"test_recipient": "maybe"}, "true or false"),
    ("quiet_end", {"quiet_start": "22:00"}, "both quiet_start and quiet_end"),
    ("quiet_start", {"quiet_start": "24:00", "quiet_end": "06:00"}, "HH:MM"),
    ("quiet_end", {"quiet_start": "22:00", "quiet_end": "22:00"}, "differ"),
    ("timezone", {"timezone": "Mars/Olympus_Mons"}, "IANA time zone"),
    ("timezone", {"timezone": "posixrules"}, "IANA time zone"),
    ("nickname", {"nickname": "Ana"}, "unknown field"),
]


async def test_each_invalid_field_is_a_422_naming_it(
    client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime
) -> None:
    key = await make_key("residents:write")
    for field, change, fragment in INVALID:
        body = {**resident("bad"), **change}
        response = await client.post("/api/v1/residents", json=body, headers=auth(key))
        assert response.status_code == 422, (field, change, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        errors = response.json()["errors"]
        assert {"loc": ["body", field], "msg": errors[0]["msg"]} in errors, (field, errors)
        assert any(fragment in e["msg"] for e in errors if e["loc"] == ["body", field]), (field, errors)
        for value in change.values():  # reasons never echo the refused address
            if isinstance(value, str) and field in ("sms", "email", "push"):
                assert value not in response.text
    assert await count(runtime, Resident) == 0


async def test_not_finite_coordinates_and_every_problem_listed(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("residents:write")
    response = await client.post(
        "/api/v1/residents",
        content=b'{"ref": "n", "lat": NaN, "lon": Infinity, "email": "x"}',
        headers={**auth(key), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["errors"]} == {("body", "lat"), ("body", "lon"), ("body", "email")}


async def test_body_must_be_a_json_object(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("residents:write")
    headers = {**auth(key), "Content-Type": "application/json"}
    assert (await client.post("/api/v1/residents", content=b"[1]", headers=headers)).status_code == 422
    assert (await client.post("/api/v1/residents", content=b"{nope", headers=headers)).status_code == 422
    csv_headers = {**auth(key), "Content-Type": "text/csv"}
    assert (await client.post("/api/v1/residents", content=b"ref\n", headers=csv_headers)).status_code == 415


async def test_address_of_another_resident_is_refused_without_echoing_it(
    client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime
) -> None:
    key = await make_key("residents:write")
    assert (await client.post("/api/v1/residents", json=resident("a", sms=SMS), headers=auth(key))).status_code == 201
    clash = await client.post(
        "/api/v1/residents", json=resident("b", sms=SMS, email="b@example.org"), headers=auth(key)
    )
    assert clash.status_code == 409
    assert clash.json()["errors"] == [
        {"loc": ["body", "sms"], "msg": "this sms address is already registered to another resident"}
    ]
    assert "5678" not in clash.text
    assert await stored_resident(runtime, "b") is None  # nothing half-written: no resident, no e-mail


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("POST", "/api/v1/residents", "residents:read"),
        ("POST", "/api/v1/residents/import", "residents:read"),
        ("GET", "/api/v1/residents/r-1", "residents:write"),
        ("DELETE", "/api/v1/residents/r-1", "residents:read"),
    ],
)
async def test_missing_key_is_401_and_missing_scope_is_403(
    client: httpx.AsyncClient, make_key: KeyMaker, method: str, path: str, scope: str
) -> None:
    body = b'{"ref": "r-1", "lat": 1, "lon": 2}'
    headers = {"Content-Type": "application/json"}
    anonymous = await client.request(method, path, content=body, headers=headers)
    assert anonymous.status_code == 401
    wrong = await make_key(scope, "alerts:send")
    refused = await client.request(method, path, content=body, headers={**headers, **auth(wrong)})
    assert refused.status_code == 403


async def test_get_and_delete_unknown_ref_are_404(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("residents:write", "residents:read")
    assert (await client.get("/api/v1/residents/nobody", headers=auth(key))).status_code == 404
    assert (await client.delete("/api/v1/residents/nobody", headers=auth(key))).status_code == 404


async def test_refs_with_slashes_and_spaces_round_trip(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("residents:write", "residents:read")
    created = await client.post("/api/v1/residents", json=resident("city/ward 7#12"), headers=auth(key))
    assert created.status_code == 201
    found = await client.get(created.headers["location"], headers=auth(key))
    assert found.status_code == 200 and found.json()["ref"] == "city/ward 7#12"


async def test_delete_removes_everything_but_opt_outs_which_survive_reimport(
    client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime
) -> None:
    key = await make_key("residents:write", "residents:read")
    body = resident("gone", sms=SMS, email="gone@example.org")
    assert (await client.post("/api/v1/residents", json=body, headers=auth(key))).status_code == 201
    await opt_out(runtime, "sms", SMS)

    assert (await client.delete("/api/v1/residents/gone", headers=auth(key))).status_code == 204
    assert (await client.get("/api/v1/residents/gone", headers=auth(key))).status_code == 404
    remaining = await contacts_of(runtime, "gone")
    assert remaining == []  # the ref is free again
    assert await count(runtime, Resident) == 1  # the anonymous tombstone holding the opt-out

    back = await client.post("/api/v1/residents", json=resident("returning", sms=SMS), headers=auth(key))
    assert back.status_code == 201, back.text
    [contact] = back.json()["contacts"]
    assert contact["opted_out"] is True  # the STOP followed the number, not the deleted resident
    assert await count(runtime, Resident) == 1  # the emptied tombstone is gone


async def test_delete_without_opt_outs_removes_the_row(
    client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime
) -> None:
    key = await make_key("residents:write")
    await client.post("/api/v1/residents", json=resident("short-lived", sms=SMS), headers=auth(key))
    assert (await client.delete("/api/v1/residents/short-lived", headers=auth(key))).status_code == 204
    assert await count(runtime, Resident) == 0
