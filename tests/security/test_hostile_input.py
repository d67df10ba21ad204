"""Input built to break the parser or the database driver gets a 4xx naming the field, never a 500: JSON nested
past the parser's depth, and numbers larger than any row id."""

from __future__ import annotations

import httpx

from alertsvc.runtime import Runtime
from tests.conftest import KeyMaker, auth
from tests.console.helpers import compose_data, csrf_of, signed_in

DEEP = "[" * 30_000 + "]" * 30_000
"""A 30,000-deep JSON array: Python's json module gives up with RecursionError long before."""
HUGE = str(2**70)
JUST_PAST_BIGINT = str(2**63)


async def test_a_deeply_nested_resident_is_a_422_naming_the_body(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key("residents:write")
    headers = {**auth(key), "Content-Type": "application/json"}
    response = await client.post("/api/v1/residents", content=DEEP, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == [{"loc": ["body"], "msg": "nested too deeply"}]
    nested_object = '{"ref": ' + DEEP + ', "lat": 1, "lon": 2}'
    assert (await client.post("/api/v1/residents", content=nested_object, headers=headers)).status_code == 422


async def test_a_deeply_nested_import_line_is_refused_on_its_own(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("residents:write")
    body = '{"ref": "ok-1", "lat": 45.5, "lon": -73.5}\n{"ref": ' + DEEP + "}\n"
    response = await client.post(
        "/api/v1/residents/import", content=body, headers={**auth(key), "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["created"] == 1 and result["rejected"] == 1
    assert result["errors"][0]["line"] == 2 and result["errors"][0]["msg"] == "nested too deeply"


async def test_huge_numbers_in_console_parameters_are_a_422_page_naming_the_parameter(runtime: Runtime) -> None:
    admin, _ = await signed_in(runtime, "admin")
    try:
        for path, name in (
            (f"/console/audit?before={HUGE}", "before"),
            (f"/console/audit?before={JUST_PAST_BIGINT}", "before"),
            ("/console/audit?before=0", "before"),
        ):
            response = await admin.get(path)
            assert response.status_code == 422, (path, response.status_code)
            assert "text/html" in response.headers["content-type"] and f"{name}:" in response.text
        assert (await admin.get(f"/console/audit?before={2**63 - 1}")).status_code == 200
        token = csrf_of((await admin.get("/console/users")).text)
        for user_id in (JUST_PAST_BIGINT, str(2**64), HUGE):
            for action, data in (("active", {"active": "no"}), ("role", {"role": "dispatcher"})):
                response = await admin.post(f"/console/users/{user_id}/{action}", data={**data, "csrf_token": token})
                assert response.status_code == 422, (user_id, action, response.status_code)
                assert "user_id:" in response.text
        # The largest id the database holds is a user that does not exist: nothing changes, no error.
        largest = await admin.post(f"/console/users/{2**63 - 1}/active", data={"active": "no", "csrf_token": token})
        assert largest.status_code == 303
    finally:
        await admin.aclose()


async def test_deeply_nested_geojson_in_the_compose_form_is_a_field_error(runtime: Runtime) -> None:
    dispatcher, _ = await signed_in(runtime, "dispatcher")
    try:
        page = await dispatcher.get("/console/alerts/new")
        data = {**compose_data(polygon=DEEP), "csrf_token": csrf_of(page.text), "action": "preview"}
        response = await dispatcher.post("/console/alerts/new", data=data)
        assert response.status_code == 200, response.status_code
        assert "nested too deeply" in response.text
    finally:
        await dispatcher.aclose()
