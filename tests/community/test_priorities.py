"""Residents' priorities: proposed and supported only through the resident's own signed manage link, by POST with
the page's CSRF token, once per resident, only in their own zone; a GET on the support address changes nothing;
staff (``community:write``) hide, set a status and publish a response, which is planned for the supporters who chose
community messages, in their language; the public list shows counts, never who."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from alertsvc.community.priorities import support
from alertsvc.residents.message_classes import set_community
from alertsvc.runtime import Runtime
from alertsvc.store.models import CommunitySend, PrioritySupport
from tests.conftest import KeyMaker, auth
from tests.factories import add_resident
from tests.selfservice.manage_helpers import manage_token

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
OLD_MILL = (45.49, -73.57)
CEDAR_PARK = (45.51, -73.58)


def _link(runtime: Runtime, resident_id: int) -> str:
    return f"/r/manage/{manage_token(runtime, resident_id)}/priorities"


async def _csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match
    return match.group(1)


async def _supports(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PrioritySupport)) or 0)


async def _public(client: httpx.AsyncClient, zone: str = "Old Mill") -> list[dict[str, object]]:
    answer = await client.get(f"/api/v1/zones/{zone}/priorities")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


async def _propose(client: httpx.AsyncClient, runtime: Runtime, resident_id: int, title: str) -> int:
    path = _link(runtime, resident_id)
    answer = await client.post(path, data={"csrf": await _csrf(client, path), "zone": "Old Mill", "title": title})
    assert answer.status_code == 200, answer.text
    wanted = " ".join(title.split())
    found = [item["id"] for item in await _public(client) if item["title"] == wanted]
    assert len(found) == 1 and isinstance(found[0], int)
    return found[0]


async def test_a_resident_proposes_and_neighbours_support_once_by_post_only(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    alice = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550201")
    bob = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550202", language="fr")
    priority = await _propose(client, runtime, alice.id, "Speeding on  Mill Road ")
    assert await _public(client) == [
        {"id": priority, "title": "Speeding on Mill Road", "supporters": 1, "status": "open", "response": None}
    ]

    support_path = f"{_link(runtime, bob.id)}/{priority}/support"
    for method in ("GET", "HEAD"):  # a link scanner or a mail preview following the address
        assert (await client.request(method, support_path)).status_code == 405
    assert await _supports(runtime) == 1

    page = await client.get(_link(runtime, bob.id))
    assert page.status_code == 200 and 'lang="fr"' in page.text  # the resident's own language
    assert "Speeding on Mill Road" in page.text and "1 soutien" in page.text
    assert "+15145550201" not in page.text and alice.ref not in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    assert (await client.post(support_path, data={})).status_code == 403  # no CSRF token: nothing counted
    assert await _supports(runtime) == 1
    first = await client.post(support_path, data={"csrf": token})
    assert first.status_code == 200 and "Merci" in first.text
    again = await client.post(support_path, data={"csrf": token})
    assert again.status_code == 200 and "déjà" in again.text
    assert await support(runtime, bob.id, priority) is False  # the domain says so too
    assert [item["supporters"] for item in await _public(client)] == [2]


async def test_only_residents_of_the_zone_take_part_and_only_with_their_own_link(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    resident = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550211")
    outsider = await add_resident(runtime.sessions, *CEDAR_PARK, sms="+15145550212")
    priority = await _propose(client, runtime, resident.id, "Lighting near the school")

    outside = _link(runtime, outsider.id)
    page = await client.get(outside)
    assert "Lighting near the school" not in page.text  # only the zones the resident lives in are offered
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    refused = await client.post(f"{outside}/{priority}/support", data={"csrf": token})
    assert refused.status_code == 403
    proposed = await client.post(outside, data={"csrf": token, "zone": "Old Mill", "title": "Not mine"})
    assert proposed.status_code == 403
    assert await _supports(runtime) == 1 and len(await _public(client)) == 1

    forged = _link(runtime, resident.id).replace("/r/manage/", "/r/manage/x")
    assert (await client.get(forged)).status_code == 404
    assert (await client.post(f"{forged}/{priority}/support", data={"csrf": token})).status_code == 404
    empty = await client.post(_link(runtime, resident.id), data={"csrf": token, "zone": "Old Mill", "title": " "})
    assert empty.status_code == 422
    assert (await client.post(f"{outside}/999999/support", data={"csrf": token})).status_code == 404


async def test_staff_moderate_and_the_response_is_planned_for_supporters_in_their_language(
    runtime: Runtime, client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    chose = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550221", language="es")
    silent = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145550222")  # never chose community messages
    await set_community(runtime, chose.id, True, "link")
    priority = await _propose(client, runtime, chose.id, "Speeding on Mill Road")
    await support(runtime, silent.id, priority)
    hidden = await _propose(client, runtime, silent.id, "Something rude")
    path = f"/api/v1/priorities/{hidden}"

    assert (await client.patch(path, json={"hidden": True})).status_code == 401
    other = auth(await make_key("alerts:send"))
    assert (await client.patch(path, json={"hidden": True}, headers=other)).status_code == 403
    staff = auth(await make_key("community:write"))
    unchanged = await client.patch(path, json={}, headers=staff)  # nothing asked, nothing changed
    assert unchanged.status_code == 200 and unchanged.json()["hidden"] is False
    assert (await client.patch(path, json={"status": "closed"}, headers=staff)).status_code == 422
    assert (await client.patch("/api/v1/priorities/999999", json={"hidden": True}, headers=staff)).status_code == 404
    answer = await client.patch(path, json={"hidden": True}, headers=staff)
    assert answer.status_code == 200 and answer.json()["hidden"] is True
    assert [item["id"] for item in await _public(client)] == [priority]
    listed = await client.get("/api/v1/priorities", params={"zone": "Old Mill"}, headers=staff)
    assert {item["id"]: item["hidden"] for item in listed.json()["items"]} == {priority: False, hidden: True}
    assert (await client.get("/api/v1/priorities", params={"zone": "Nowhere"}, headers=staff)).status_code == 404
    token = await _csrf(client, _link(runtime, chose.id))
    hidden_support = await client.post(f"{_link(runtime, chose.id)}/{hidden}/support", data={"csrf": token})
    assert hidden_support.status_code == 404

    change = {"status": "in_progress", "response": "Speed checks every week from Monday."}
    answered = await client.patch(f"/api/v1/priorities/{priority}", json=change, headers=staff)
    assert answered.status_code == 200, answered.text
    assert answered.json()["notices_planned"] == 1
    assert (await _public(client))[0] == {
        "id": priority, "title": "Speeding on Mill Road", "supporters": 2, "status": "in_progress",
        "response": "Speed checks every week from Monday.",
    }  # fmt: skip
    again = await client.patch(f"/api/v1/priorities/{priority}", json={"response": "Typo fixed."}, headers=staff)
    assert again.json()["notices_planned"] == 0  # told once per status
    done = await client.patch(f"/api/v1/priorities/{priority}", json={"status": "done"}, headers=staff)
    assert done.json()["notices_planned"] == 1
    async with runtime.sessions() as session:
        columns = select(CommunitySend.subject, CommunitySend.resident_id, CommunitySend.language)
        sends = (await session.execute(columns)).all()
    assert sorted(sends) == [
        (f"priority:{priority}:done", chose.id, "es"),
        (f"priority:{priority}:in_progress", chose.id, "es"),
    ]
    assert (await client.get("/api/v1/zones/Nowhere/priorities")).status_code == 404
