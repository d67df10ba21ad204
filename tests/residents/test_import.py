"""``POST /api/v1/residents/import`` (and the CLI's ``import_file``) with real bodies on both databases."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from alertsvc.residents.importer import import_file
from alertsvc.residents.validation import ValidationOptions
from alertsvc.runtime import Runtime
from alertsvc.store.models import Contact, Resident
from tests.conftest import KeyMaker, auth
from tests.residents.helpers import (
    CSV,
    NDJSON,
    contacts_of,
    count,
    csv_body,
    ndjson,
    opt_out,
    resident,
    stored_resident,
)

IMPORT = "/api/v1/residents/import"
HEADER = ["ref", "lat", "lon", "language", "sms", "email", "categories", "test_recipient"]


async def _import(client: httpx.AsyncClient, key: str, body: bytes, headers: dict[str, str]) -> dict[str, object]:
    response = await client.post(IMPORT, content=body, headers={**auth(key), **headers})
    assert response.status_code == 200, response.text
    report: dict[str, object] = response.json()
    return report


async def test_csv_mixed_rows_good_stored_bad_reported_whole(
    client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime
) -> None:
    key = await make_key("residents:write")
    body = csv_body(
        HEADER,
        [
            ["c-1", "52.5", "13.4", "de", "+49 151 12345678", "one@example.org", "Met;Fire", "yes"],  # line 2
            ["c-2", "95", "13.4", "", "+4915112345679", "", "", ""],  # line 3: latitude
            ["c-3", "52.5", "13.4", "", "+4915112345670", "not-an-email", "", "maybe"],  # line 4: two problems
            ["c-4", "52.5", "13.4", "", "", "four@example.org", "", "0"],  # line 5
            ["c-5", "52.5", "13.4", "", "", "one@example.org", "", ""],  # line 6: c-1's address
        ],
    )
    body += b"c-6,1,2\n"  # line 7: too few fields
    report = await _import(client, key, body, CSV)
    assert (report["created"], report["updated"], report["rejected"]) == (2, 0, 4)
    assert report["errors"] == [
        {"line": 3, "loc": ["lat"], "msg": "must be between -90 and 90"},
        {"line": 4, "loc": ["email"], "msg": "is not a valid e-mail address"},
        {"line": 4, "loc": ["test_recipient"], "msg": "must be true or false (true/false, 1/0, yes/no)"},
        {"line": 6, "loc": ["email"], "msg": "this email address is already registered to another resident"},
        {"line": 7, "loc": [], "msg": "has 3 fields; the header has 8"},
    ]
    assert report["errors_truncated"] is False
    assert "one@example.org" not in json.dumps(report)

    first = await stored_resident(runtime, "c-1")
    assert first is not None and (first.language, first.categories, first.test_recipient) == ("de", "Met,Fire", True)
    assert {(c.channel, c.address) for c in await contacts_of(runtime, "c-1")} == {
        ("sms", "+4915112345678"),
        ("email", "one@example.org"),
    }
    assert all(c.confirmed_at is not None for c in await contacts_of(runtime, "c-1"))
    for rejected in ("c-2", "c-3", "c-5", "c-6"):  # nothing half-written: not even the valid phone of c-3
        assert await stored_resident(runtime, rejected) is None
    assert await count(runtime, Contact) == 3


async def test_ndjson_mixed_rows(client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime) -> None:
    key = await make_key("residents:write")
    body = ndjson(
        [
            resident("n-1", sms="+447911123456"),
            "",  # blank lines count as lines but are not rows
            "{not json",
            "[1, 2]",
            resident("n-2", email="two@example.org", nickname="Bo"),
            resident("n-3", push="ntfy://alertsvc-n3", categories=["Health"]),
        ]
    )
    report = await _import(client, key, body, NDJSON)
    assert (report["created"], report["updated"], report["rejected"]) == (2, 0, 3)
    assert report["errors"] == [
        {"line": 3, "loc": [], "msg": "not valid JSON"},
        {"line": 4, "loc": [], "msg": "must be a JSON object"},
        {"line": 5, "loc": ["nickname"], "msg": "unknown field"},
    ]
    assert await stored_resident(runtime, "n-2") is None
    assert [c.address for c in await contacts_of(runtime, "n-3")] == ["ntfy://alertsvc-n3"]


async def test_format_is_sniffed_without_content_type(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("residents:write")
    as_json = await _import(client, key, ndjson([resident("s-1")]), {})
    as_csv = await _import(client, key, b"\xef\xbb\xbfref,lat,lon\r\ns-2,1,2\r\n", {})
    assert (as_json["created"], as_csv["created"]) == (1, 1)


async def test_other_content_types_are_415(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("residents:write")
    for media in ("application/json", "application/xml", "multipart/form-data"):
        response = await client.post(IMPORT, content=b"{}", headers={**auth(key), "Content-Type": media})
        assert response.status_code == 415, media


async def test_bad_csv_header_imports_nothing(client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime) -> None:
    key = await make_key("residents:write")
    for header, field in ((b"ref,lat,lon,e-mail", "e-mail"), (b"ref,lat", "lon"), (b"ref,lat,lon,ref", "header")):
        response = await client.post(IMPORT, content=header + b"\nr,1,2,x\n", headers={**auth(key), **CSV})
        assert response.status_code == 422, header
        assert response.json()["errors"][0]["loc"] == ["body", "line", 1, field]
    assert await count(runtime, Resident) == 0


async def test_csv_quoted_fields_may_span_lines_and_keep_line_numbers(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key("residents:write")
    body = b'ref,lat,lon,categories\n"q-1",1,2,"Met,\nFire"\nq-2,x,2,\nq-3,1,2,\n'
    report = await _import(client, key, body, CSV)
    assert report["created"] == 2
    assert report["errors"] == [{"line": 4, "loc": ["lat"], "msg": "must be a number"}]


async def test_overlong_and_undecodable_lines_are_rejected_alone(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("residents:write")
    body = ndjson([resident("o-1")]) + b'{"ref": "' + b"x" * 70_000 + b'"}\n\xff\xfe\n' + ndjson([resident("o-2")])
    report = await _import(client, key, body, NDJSON)
    assert report["created"] == 2
    assert [(e["line"], e["msg"]) for e in report["errors"]] == [  # type: ignore[union-attr]
        (2, "line is longer than 65536 bytes"),
        (3, "line is not valid UTF-8"),
    ]


async def test_reimport_updates_instead_of_duplicating(
    client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime
) -> None:
    key = await make_key("residents:write")
    rows = [resident(f"u-{i}", sms=f"+4915112345{i:03d}", email=f"u{i}@example.org") for i in range(50)]
    first = await _import(client, key, ndjson(rows), NDJSON)
    second = await _import(client, key, ndjson(rows), NDJSON)
    assert (first["created"], first["updated"]) == (50, 0)
    assert (second["created"], second["updated"], second["rejected"]) == (0, 50, 0)
    assert (await count(runtime, Resident), await count(runtime, Contact)) == (50, 100)


async def test_same_ref_twice_in_one_file_is_applied_in_order(
    client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime
) -> None:
    key = await make_key("residents:write")
    body = ndjson([resident("twice", email="old@example.org"), resident("twice", lat=1.5, email="new@example.org")])
    report = await _import(client, key, body, NDJSON)
    assert (report["created"], report["updated"]) == (1, 1)
    stored = await stored_resident(runtime, "twice")
    assert stored is not None and stored.lat == 1.5
    assert [c.address for c in await contacts_of(runtime, "twice")] == ["new@example.org"]


async def test_new_address_replaces_the_active_contact_and_absent_fields_are_kept(
    client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime
) -> None:
    key = await make_key("residents:write")
    await _import(
        client, key, ndjson([resident("m", email="a@example.org", sms="+4915112345678", min_severity="Severe")]), NDJSON
    )
    [before_email] = [c for c in await contacts_of(runtime, "m") if c.channel == "email"]
    report = await _import(client, key, ndjson([resident("m", email="b@example.org")]), NDJSON)
    assert report["updated"] == 1
    after = {c.channel: c for c in await contacts_of(runtime, "m")}
    assert after["email"].address == "b@example.org"
    assert after["email"].id == before_email.id  # re-addressed in place: its delivery history stays attached
    assert after["sms"].address == "+4915112345678"  # not mentioned: kept
    stored = await stored_resident(runtime, "m")
    assert stored is not None and stored.min_severity == "Severe"  # not mentioned: kept
    await _import(client, key, ndjson([resident("m", min_severity="")]), NDJSON)
    stored = await stored_resident(runtime, "m")
    assert stored is not None and stored.min_severity is None  # given empty: reset


async def test_opt_out_survives_reimport_and_address_change(
    client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime
) -> None:
    key = await make_key("residents:write")
    rows = [resident("o", sms="+4915112345678", email="o@example.org")]
    await _import(client, key, ndjson(rows), NDJSON)
    await opt_out(runtime, "sms", "+4915112345678")

    again = await _import(client, key, ndjson(rows), NDJSON)
    assert again["updated"] == 1
    [sms] = [c for c in await contacts_of(runtime, "o") if c.channel == "sms"]
    assert sms.opted_out_at is not None  # never re-subscribed

    await _import(client, key, ndjson([resident("o", sms="+4915112345679")]), NDJSON)
    sms_contacts = {c.address: c.opted_out_at for c in await contacts_of(runtime, "o") if c.channel == "sms"}
    assert sms_contacts["+4915112345678"] is not None  # the consent record is never deleted
    assert sms_contacts["+4915112345679"] is None

    await _import(client, key, ndjson(rows), NDJSON)  # back to the opted-out number
    sms_contacts = {c.address: c.opted_out_at for c in await contacts_of(runtime, "o") if c.channel == "sms"}
    assert list(sms_contacts) == ["+4915112345678"] and sms_contacts["+4915112345678"] is not None

    taken = await _import(client, key, ndjson([resident("other", sms="+4915112345678")]), NDJSON)
    assert taken["rejected"] == 1  # an opted-out address still belongs to its resident


async def test_errors_are_capped_but_counted(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("residents:write")
    body = ndjson(resident(f"e-{i}", lat=100) for i in range(1_200))
    report = await _import(client, key, body, NDJSON)
    assert report["rejected"] == 1_200
    assert len(report["errors"]) == 1_000  # type: ignore[arg-type]
    assert report["errors_truncated"] is True


async def test_twenty_thousand_rows_streamed(client: httpx.AsyncClient, make_key: KeyMaker, runtime: Runtime) -> None:
    key = await make_key("residents:write")
    rows = 20_000

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, rows, 500):
            chunk = [
                resident(f"big-{i}", sms=f"+4915{i:09d}", email=f"big{i}@example.org", language="de")
                for i in range(start, start + 500)
            ]
            yield ndjson(chunk)

    response = await client.post(IMPORT, content=body(), headers={**auth(key), **NDJSON}, timeout=300)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == rows
    assert (await count(runtime, Resident), await count(runtime, Contact)) == (rows, 2 * rows)


async def test_import_file_for_the_cli(runtime: Runtime, tmp_path: Path) -> None:
    good = tmp_path / "residents.csv"
    good.write_text("ref,lat,lon,sms\nf-1,1,2,+4915112345678\nf-2,1,2,0151\n")
    report = await import_file(runtime.sessions, good, actor="cli", options=ValidationOptions())
    assert report.summary() == "1 created, 0 updated, 1 rejected"
    assert [(r.line, r.field) for r in report.rejected] == [(3, "sms")]

    lines = tmp_path / "residents.jsonl"
    lines.write_text(json.dumps(resident("f-3")) + "\n")
    assert (await import_file(runtime.sessions, lines, actor="cli", options=ValidationOptions())).created == 1

    broken = tmp_path / "broken.csv"
    broken.write_text("ref,lat\nx,1\n")
    report = await import_file(runtime.sessions, broken, actor="cli", options=ValidationOptions())
    assert [(r.line, r.field) for r in report.rejected] == [(1, "lon")]
