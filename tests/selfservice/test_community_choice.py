"""A resident's choice of community messages (issue 22): off by default, on the manage page as two radio buttons
(POST with the page's CSRF token, written to the consent ledger once per change, in the resident's language), and
an optional, unticked box at sign-up that sets it only for a resident the sign-up creates. The manage handlers share
their link and CSRF checks as dependencies: every manage POST refuses a forged token and a link that is not ours."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from alertsvc.residents.message_classes import community_choice
from alertsvc.runtime import Runtime
from alertsvc.store.models import ConsentEvent, Resident
from tests.factories import add_resident
from tests.selfservice.manage_helpers import manage_token
from tests.selfservice.test_signup import CSRF, signup

OLD_MILL = (45.49, -73.57)


async def _ledger(runtime: Runtime) -> list[tuple[str, str]]:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(ConsentEvent).where(ConsentEvent.action.startswith("community_")).order_by(ConsentEvent.id)
        )
        return [(row.action, row.method) for row in rows]


async def test_a_resident_opts_in_and_out_from_the_manage_page(client: httpx.AsyncClient, runtime: Runtime) -> None:
    resident = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145557001", language="fr")
    path = f"/r/manage/{manage_token(runtime, resident.id)}"
    page = await client.get(path)
    assert page.status_code == 200 and "Messages communautaires" in page.text  # in the resident's language
    assert 'name="community" value="no" checked' in page.text  # off until chosen (an imported resident)
    assert f'href="{path}/priorities"' in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]

    forged = await client.post(f"{path}/community", data={"csrf": "forged", "community": "yes"})
    assert forged.status_code == 403 and not await community_choice(runtime, resident.id)
    unclear = await client.post(f"{path}/community", data={"csrf": token, "community": "maybe"})
    assert unclear.status_code == 422 and not await community_choice(runtime, resident.id)

    chosen = await client.post(f"{path}/community", data={"csrf": token, "community": "yes"})
    assert chosen.status_code == 200, chosen.text
    assert 'role="status"' in chosen.text and 'name="community" value="yes" checked' in chosen.text
    assert await community_choice(runtime, resident.id)
    await client.post(f"{path}/community", data={"csrf": token, "community": "yes"})  # the same again: no new row
    await client.post(f"{path}/community", data={"csrf": token, "community": "no"})
    assert not await community_choice(runtime, resident.id)
    assert await _ledger(runtime) == [("community_opt_in", "manage_link"), ("community_opt_out", "manage_link")]


@pytest.mark.parametrize("action", ["", "/community", "/sign-out"])
async def test_every_manage_post_checks_the_link_and_the_form(
    client: httpx.AsyncClient, runtime: Runtime, action: str
) -> None:
    resident = await add_resident(runtime.sessions, *OLD_MILL, sms="+15145557002")
    path = f"/r/manage/{manage_token(runtime, resident.id)}"
    token = CSRF.search((await client.get(path)).text).group(1)  # type: ignore[union-attr]
    assert (await client.post(f"{path}{action}", data={"csrf": "forged", "community": "yes"})).status_code == 403
    not_ours = await client.post(f"/r/manage/1.forged{action}", data={"csrf": token, "community": "yes"})
    assert not_ours.status_code == 404 and "This link is not valid." in not_ours.text
    assert not await community_choice(runtime, resident.id)


async def test_the_sign_up_box_is_optional_unticked_and_sets_only_a_new_resident(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    form = (await client.get("/r/subscribe?lang=es")).text
    assert 'name="community" value="yes"  aria-describedby' in form  # offered, not ticked
    assert (await signup(client, zone="Old Mill", sms="+15145557010")).status_code == 200
    assert (await signup(client, zone="Old Mill", sms="+15145557011", community="yes")).status_code == 200
    async with runtime.sessions() as session:
        residents = {r.id: r for r in await session.scalars(select(Resident).where(Resident.zone == "Old Mill"))}
    chosen = {rid for rid in residents if await community_choice(runtime, rid)}
    assert len(residents) == 2 and len(chosen) == 1
    assert await _ledger(runtime) == [("community_opt_in", "web_form")]
    # a sign-up naming a known contact proves no ownership: it changes nobody's choice
    assert (await signup(client, zone="Old Mill", sms="+15145557010", community="yes")).status_code == 200
    assert {rid for rid in residents if await community_choice(runtime, rid)} == chosen
