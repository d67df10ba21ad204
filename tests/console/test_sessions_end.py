"""A console session ends at once when its user signs out, changes password or role, or is deactivated: a copy
of the cookie, taken while it worked, gets the sign-in page afterwards (the per-user session epoch)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from alertsvc.app import create_app
from alertsvc.runtime import Runtime
from alertsvc.security.sessions import COOKIE_NAME, SessionCodec
from alertsvc.store.models import AuditEvent, User
from tests.console.helpers import PASSWORD, csrf_of, login, post_form, signed_in


@pytest.fixture
async def thief(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser, with no cookie of its own: it presents copied cookies by hand."""
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def cookie_of(client: httpx.AsyncClient) -> str:
    value = client.cookies.get(COOKIE_NAME)
    assert value, "no session cookie"
    return value


async def with_cookie(thief: httpx.AsyncClient, cookie: str, path: str = "/console/alerts") -> httpx.Response:
    thief.cookies.clear()
    return await thief.get(path, headers={"Cookie": f"{COOKIE_NAME}={cookie}"})


def signed_out(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/console/login")


async def user_id(runtime: Runtime, email: str) -> int:
    async with runtime.sessions() as session:
        found = await session.scalar(select(User.id).where(User.email == email))
    assert found is not None
    return int(found)


async def test_a_copied_cookie_stops_working_when_its_owner_signs_out(
    runtime: Runtime, thief: httpx.AsyncClient
) -> None:
    owner, email = await signed_in(runtime, "dispatcher")
    copied = cookie_of(owner)
    assert (await with_cookie(thief, copied)).status_code == 200  # the copy works while the session does
    out = await post_form(owner, "/console/alerts", "/console/logout")
    assert signed_out(out)
    assert signed_out(await with_cookie(thief, copied))
    # The owner signs in again and works; the old copy stays dead.
    assert (await login(owner, email)).status_code == 303
    assert (await owner.get("/console/alerts")).status_code == 200
    assert signed_out(await with_cookie(thief, copied))
    async with runtime.sessions() as session:
        actions = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions.count("user.logout") == 1


async def test_signing_out_with_a_dead_copy_does_not_end_the_owners_new_session(
    runtime: Runtime, thief: httpx.AsyncClient
) -> None:
    owner, email = await signed_in(runtime, "dispatcher")
    copied = cookie_of(owner)
    page = await with_cookie(thief, copied)
    token = csrf_of(page.text)
    await post_form(owner, "/console/alerts", "/console/logout")
    assert (await login(owner, email)).status_code == 303
    thief.cookies.clear()
    await thief.post("/console/logout", data={"csrf_token": token}, headers={"Cookie": f"{COOKIE_NAME}={copied}"})
    assert (await owner.get("/console/alerts")).status_code == 200


async def test_deactivation_ends_the_session_and_reactivation_does_not_revive_it(
    runtime: Runtime, admin: httpx.AsyncClient, thief: httpx.AsyncClient
) -> None:
    victim, email = await signed_in(runtime, "approver")
    copied = cookie_of(victim)
    uid = await user_id(runtime, email)
    off = await post_form(admin, "/console/users", f"/console/users/{uid}/active", active="no")
    assert off.status_code == 303
    assert signed_out(await victim.get("/console/alerts"))
    assert signed_out(await with_cookie(thief, copied))
    on = await post_form(admin, "/console/users", f"/console/users/{uid}/active", active="yes")
    assert on.status_code == 303
    assert signed_out(await with_cookie(thief, copied))


async def test_a_role_change_ends_the_session_and_the_new_role_holds_after_sign_in(
    runtime: Runtime, admin: httpx.AsyncClient, thief: httpx.AsyncClient
) -> None:
    person, email = await signed_in(runtime, "admin")
    copied = cookie_of(person)
    assert (await with_cookie(thief, copied, "/console/users")).status_code == 200
    uid = await user_id(runtime, email)
    changed = await post_form(admin, "/console/users", f"/console/users/{uid}/role", role="dispatcher")
    assert changed.status_code == 303
    assert signed_out(await with_cookie(thief, copied, "/console/users"))
    assert signed_out(await person.get("/console/users"))
    assert (await login(person, email)).status_code == 303
    assert (await person.get("/console/users")).status_code == 403  # a dispatcher now
    async with runtime.sessions() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "user.role_change"))
    assert event is not None and event.detail == {"from": "admin", "to": "dispatcher"}
    assert event.subject_id == str(uid)


async def test_role_change_refuses_oneself_and_unknown_roles(runtime: Runtime, admin: httpx.AsyncClient) -> None:
    other, email = await signed_in(runtime, "dispatcher")
    await other.aclose()
    uid = await user_id(runtime, email)
    assert (await post_form(admin, "/console/users", f"/console/users/{uid}/role", role="owner")).status_code == 422
    async with runtime.sessions() as session:
        admin_id = await session.scalar(select(User.id).where(User.role == "admin"))
    assert f'action="/console/users/{admin_id}/role"' not in (await admin.get("/console/users")).text
    refused = await post_form(admin, "/console/users", f"/console/users/{admin_id}/role", role="dispatcher")
    assert refused.status_code == 409


async def test_a_new_password_ends_every_other_session_and_keeps_this_one(
    runtime: Runtime, thief: httpx.AsyncClient
) -> None:
    owner, email = await signed_in(runtime, "dispatcher")
    copied = cookie_of(owner)
    new = "a much longer passphrase for the console"
    changed = await post_form(
        owner, "/console/password", "/console/password", current=PASSWORD, new=new, again=new
    )
    assert changed.status_code == 200 and 'id="password-changed"' in changed.text
    assert (await owner.get("/console/alerts")).status_code == 200
    assert signed_out(await with_cookie(thief, copied))
    # The new password signs in; the old one no longer does.
    other = httpx.AsyncClient(transport=thief._transport, base_url="http://testserver")
    try:
        assert (await login(other, email, PASSWORD)).status_code == 401
        assert (await login(other, email, new)).status_code == 303
    finally:
        await other.aclose()


async def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failure(runtime: Runtime) -> None:
    owner, email = await signed_in(runtime, "dispatcher")
    new = "a much longer passphrase for the console"
    page = "/console/password"
    wrong = await post_form(owner, page, page, current="guess", new=new, again=new)
    assert wrong.status_code == 403 and 'id="password-error"' in wrong.text
    assert (await post_form(owner, page, page, current=PASSWORD, new="short", again="short")).status_code == 422
    assert (await post_form(owner, page, page, current=PASSWORD, new=new, again=new + "x")).status_code == 422
    assert (await owner.get("/console/alerts")).status_code == 200
    async with runtime.sessions() as session:
        user = await session.scalar(select(User).where(User.email == email))
    assert user is not None and user.failed_logins == 1 and user.session_epoch == 0


def test_a_cookie_from_before_epochs_is_the_users_first_epoch() -> None:
    """Cookies made before migration 0007 carry no epoch: they count as epoch 0, so an upgrade signs nobody out."""
    codec = SessionCodec("k" * 40, idle_s=600, lifetime_s=3600)
    old = codec._serializer.dumps({"c": "token", "u": 7, "s": 100.0, "t": 100.0, "l": None})
    session = codec.loads(old, now=200.0)
    assert session is not None and session.user_id == 7 and session.epoch == 0
    forged_type = codec._serializer.dumps({"c": "token", "u": 7, "s": 100.0, "t": 100.0, "g": "1"})
    refused = codec.loads(forged_type, now=200.0)
    assert refused is not None and refused.user_id is None
