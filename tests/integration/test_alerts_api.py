"""The alerts API end to end over HTTP, on SQLite and PostgreSQL: scopes, CAP XML and JSON in and out,
validation with field paths, body limits, idempotency, the approval gate and the audit trail."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import httpx
import xmlschema

from alertsvc.runtime import Runtime
from tests.conftest import KeyMaker, auth
from tests.factories import cap_alert

CAP_XML = {"Content-Type": "application/cap+xml"}


async def test_no_key_is_401_and_wrong_scope_is_403(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    response = await client.post("/api/v1/alerts", json=cap_alert())
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == "Bearer"
    bad = await client.post("/api/v1/alerts", json=cap_alert(), headers=auth("as_not-a-real-key"))
    assert bad.status_code == 401
    reader = await make_key("alerts:read")
    forbidden = await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(reader))
    assert forbidden.status_code == 403
    assert "alerts:write" in forbidden.json()["detail"]


async def test_revoked_key_is_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    from alertsvc.security.api_keys import create_key, revoke_key
    from alertsvc.security.scopes import Scope

    async with runtime.sessions() as session, session.begin():
        key = await create_key(session, "soon-gone", frozenset({Scope.ALERTS_READ}), "test")
    assert (await client.get("/api/v1/alerts", headers=auth(key))).status_code == 200
    async with runtime.sessions() as session, session.begin():
        assert await revoke_key(session, "soon-gone", "test")
    assert (await client.get("/api/v1/alerts", headers=auth(key))).status_code == 401


async def test_json_submission_waits_for_approval_with_write_scope(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    writer = await make_key("alerts:write", "alerts:read")
    response = await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(writer))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "pending_approval"
    assert {"id", "identifier", "state", "stats", "alert"} <= body.keys()
    fetched = await client.get(f"/api/v1/alerts/{body['id']}", headers=auth(writer))
    assert fetched.status_code == 200
    assert fetched.json()["alert"]["info"][0]["headline"] == "Gas leak: leave the area"


async def test_approval_needs_someone_else_and_send_scope(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    writer = await make_key("alerts:write", "alerts:read")
    approver = await make_key("alerts:send", "alerts:read")
    created = (await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(writer))).json()
    self_approve = await client.post(f"/api/v1/alerts/{created['id']}/approve", headers=auth(writer))
    assert self_approve.status_code == 403
    approved = await client.post(f"/api/v1/alerts/{created['id']}/approve", headers=auth(approver))
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] in {"approved", "dispatching", "sent"}
    again = await client.post(f"/api/v1/alerts/{created['id']}/approve", headers=auth(approver))
    assert again.status_code == 409
    audit = (await client.get(f"/api/v1/alerts/{created['id']}/audit", headers=auth(writer))).json()
    assert [entry["action"] for entry in audit][:2] == ["alert.submit", "alert.approve"]


async def test_reject_needs_a_reason(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    writer = await make_key("alerts:write", "alerts:read")
    approver = await make_key("alerts:send", "alerts:read")
    created = (await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(writer))).json()
    empty = await client.post(f"/api/v1/alerts/{created['id']}/reject", json={"reason": ""}, headers=auth(approver))
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["loc"] == ["body", "reason"]
    rejected = await client.post(
        f"/api/v1/alerts/{created['id']}/reject", json={"reason": "wrong area"}, headers=auth(approver)
    )
    assert rejected.json()["state"] == "rejected"
    assert rejected.json()["decision_reason"] == "wrong area"


async def test_send_scope_sends_at_once(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    sender = await make_key("alerts:send", "alerts:read")
    response = await client.post("/api/v1/alerts", json=cap_alert(), headers=auth(sender))
    assert response.status_code == 201
    assert response.json()["state"] in {"approved", "dispatching", "sent"}


async def test_xml_in_cap_xml_out_schema_valid(
    client: httpx.AsyncClient, make_key: KeyMaker, cap_samples: Path
) -> None:
    key = await make_key("alerts:write", "alerts:read")
    sample = (cap_samples / "canada.cap").read_bytes()
    response = await client.post("/api/v1/alerts", content=sample, headers={**CAP_XML, **auth(key)})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["state"] == "expired"  # a 2012 alert: stored, never sent
    cap = await client.get(f"/api/v1/alerts/{created['id']}/cap", headers=auth(key))
    assert cap.status_code == 200
    assert cap.headers["content-type"].startswith("application/cap+xml")
    xmlschema.XMLSchema(cap_samples / "cap12.xsd").validate(cap.content)
    assert created["identifier"].encode() in cap.content


async def test_every_problem_is_reported_with_its_path(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:write")
    document = cap_alert()
    del document["scope"]
    document["info"][0]["urgency"] = "Whenever"
    document["info"][0]["area"][0]["polygon"] = ["45.0,-73.0 46.0,-72.0 45.0,-73.0"]
    response = await client.post("/api/v1/alerts", json=document, headers=auth(key))
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422 and response.headers["content-type"].startswith("application/problem+json")
    locs = [error["loc"] for error in problem["errors"]]
    assert ["scope"] in locs
    assert ["info", 0, "urgency"] in locs
    assert ["info", 0, "area", 0, "polygon", 0] in locs


async def test_lat_lon_out_of_range_names_the_area(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:write")
    bad = cap_alert(polygon="95.0,-73.0 45.0,-72.0 46.0,-72.0 95.0,-73.0")
    response = await client.post("/api/v1/alerts", json=bad, headers=auth(key))
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == ["info", 0, "area", 0, "polygon", 0]
    assert "latitude" in error["msg"]


async def test_unknown_zone_and_missing_geometry_are_refused(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:send")
    unknown = cap_alert(polygon=None, geocodes=[("zone", "Atlantis")])
    response = await client.post("/api/v1/alerts", json=unknown, headers=auth(key))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["info", 0, "area", 0, "geocode", 0]
    nowhere = cap_alert(polygon=None, geocodes=[("SAME", "012345")])
    response = await client.post("/api/v1/alerts", json=nowhere, headers=auth(key))
    assert response.status_code == 422
    assert "reach nobody" in response.json()["errors"][0]["msg"]
    known = cap_alert(polygon=None, geocodes=[("zone", "old mill")])
    assert (await client.post("/api/v1/alerts", json=known, headers=auth(key))).status_code == 201


async def test_malformed_and_unsupported_bodies(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:write")
    broken = await client.post("/api/v1/alerts", content=b"<alert><oops>", headers={**CAP_XML, **auth(key)})
    assert broken.status_code == 422 and broken.json()["errors"][0]["loc"] == ["body"]
    not_json = await client.post(
        "/api/v1/alerts", content=b"{nope", headers={"Content-Type": "application/json", **auth(key)}
    )
    assert not_json.status_code == 422
    wrong_type = await client.post(
        "/api/v1/alerts", content=b"hello", headers={"Content-Type": "text/plain", **auth(key)}
    )
    assert wrong_type.status_code == 415
    array = await client.post("/api/v1/alerts", json=[1, 2], headers=auth(key))
    assert array.status_code == 422


async def test_body_over_one_mib_is_413_before_parsing(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:write")
    huge = b"<alert>" + b" " * (1024 * 1024) + b"</alert>"
    response = await client.post("/api/v1/alerts", content=huge, headers={**CAP_XML, **auth(key)})
    assert response.status_code == 413

    async def chunks():  # no Content-Length: the limit still holds while streaming
        for _ in range(20):
            yield b" " * 65536

    streamed = await client.post("/api/v1/alerts", content=chunks(), headers={**CAP_XML, **auth(key)})
    assert streamed.status_code == 413


async def test_xxe_sample_is_refused_and_reads_nothing(
    client: httpx.AsyncClient, make_key: KeyMaker, cap_samples: Path
) -> None:
    key = await make_key("alerts:write")
    response = await client.post(
        "/api/v1/alerts", content=(cap_samples / "xee.cap").read_bytes(), headers={**CAP_XML, **auth(key)}
    )
    assert response.status_code == 422
    assert "root:" not in response.text


async def test_resubmission_is_idempotent_by_cap_key(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:send", "alerts:read")
    document = cap_alert()
    first = await client.post("/api/v1/alerts", json=document, headers=auth(key))
    second = await client.post("/api/v1/alerts", json=copy.deepcopy(document), headers=auth(key))
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    listing = (await client.get("/api/v1/alerts", headers=auth(key))).json()
    assert [item["id"] for item in listing["items"]].count(first.json()["id"]) == 1


async def test_resubmission_is_idempotent_by_key_header(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:send", "alerts:read")
    headers = {**auth(key), "Idempotency-Key": "retry-123"}
    first = await client.post("/api/v1/alerts", json=cap_alert(), headers=headers)
    second = await client.post("/api/v1/alerts", json=cap_alert(), headers=headers)  # a new identifier
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"]


async def test_invalid_repeat_is_refused_even_if_identifiers_match(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key("alerts:send")
    document = cap_alert()
    assert (await client.post("/api/v1/alerts", json=document, headers=auth(key))).status_code == 201
    broken = copy.deepcopy(document)
    broken["info"][0]["severity"] = "Catastrophic"
    assert (await client.post("/api/v1/alerts", json=broken, headers=auth(key))).status_code == 422


async def test_concurrent_duplicates_store_one_alert(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:send", "alerts:read")
    document = cap_alert()
    responses = await asyncio.gather(
        *(client.post("/api/v1/alerts", json=document, headers=auth(key)) for _ in range(5))
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1


async def test_unknown_alert_is_404(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:read")
    response = await client.get("/api/v1/alerts/nope", headers=auth(key))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_openapi_describes_the_alert_body(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    body = document["paths"]["/api/v1/alerts"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/cap+xml", "application/xml"} <= body.keys()
    assert "CapAlert" in document["components"]["schemas"]
    for path in ("/api/v1/residents", "/api/v1/residents/import", "/api/v1/targeting/preview",
                 "/api/v1/alerts/{alert_id}/deliveries", "/api/v1/sandbox/outbox"):
        assert path in document["paths"], path
