"""Signing in: sessions, the same answer for unknown users and wrong passwords, lock-out, cookie flags, expiry."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select, update

from alertsvc.clock import utcnow
from alertsvc.runtime import Runtime
from alertsvc.security.sessions import COOKIE_NAME, ConsoleSession, SessionCodec, cookie_options
from alertsvc.store.models import AuditEvent, User
from tests.conftest import make_settings
from tests.console.helpers import PASSWORD, csrf_of, login, make_user, post_form


async def test_login_ok_sets_a_safe_cookie_and_logout_ends_it(client: httpx.AsyncClient, runtime: Runtime) -> None:
    email = await make_user(runtime, "dispatcher")
    assert (await client.get("/console/alerts")).headers["location"].startswith("/console/login")
    response = await login(client, email)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/alerts"
    cookie = response.headers["set-cookie"].lower()
    assert COOKIE_NAME in cookie and "httponly" in cookie and "samesite=lax" in cookie and "path=/console" in cookie
    assert "secure" not in cookie  # public URL is http here; see the https test below
    page = await client.get("/console/alerts")
    assert page.status_code == 200 and email in page.text
    out = await post_form(client, "/console/alerts", "/console/logout")
    assert out.status_code == 303
    assert (await client.get("/console/alerts")).status_code == 303


async def test_unknown_user_and_wrong_password_get_the_same_answer(client: httpx.AsyncClient, runtime: Runtime) -> None:
    email = await make_user(runtime, "dispatcher")
    wrong = await login(client, email, "not the password at all")
    unknown = await login(client, "nobody@city.example", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401

    def without_echo(response: httpx.Response, address: str) -> str:
        return response.text.replace(csrf_of(response.text), "").replace(address, "")

    assert without_echo(wrong, email) == without_echo(unknown, "nobody@city.example")


async def test_five_failures_lock_the_account_even_for_the_right_password(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    email = await make_user(runtime, "approver")
    for _ in range(runtime.settings.login_max_failures):
        assert (await login(client, email, "wrong password guess")).status_code == 401
    locked = await login(client, email, PASSWORD)
    assert locked.status_code == 401
    async with runtime.sessions() as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None and user.locked_until is not None
        assert user.locked_until > utcnow() + timedelta(minutes=runtime.settings.login_lock_minutes - 1)
        actions = list(await session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == str(user.id))))
    assert "user.locked" in actions and "user.login_refused" in actions
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(User).where(User.email == email).values(locked_until=utcnow()))
    assert (await login(client, email, PASSWORD)).status_code == 303


async def test_deactivated_user_is_signed_out_at_the_next_request(client: httpx.AsyncClient, runtime: Runtime) -> None:
    email = await make_user(runtime, "dispatcher")
    assert (await login(client, email)).status_code == 303
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(User).where(User.email == email).values(active=False))
    assert (await client.get("/console/alerts")).status_code == 303
    assert (await login(client, email)).status_code == 401


async def test_next_only_goes_to_console_pages(client: httpx.AsyncClient, runtime: Runtime) -> None:
    email = await make_user(runtime, "dispatcher")
    page = await client.get("/console/login")
    response = await client.post(
        "/console/login",
        data={"email": email, "password": PASSWORD, "next": "//evil.example/", "csrf_token": csrf_of(page.text)},
    )
    assert response.headers["location"] == "/console/alerts"


def test_cookie_is_secure_on_https(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite+aiosqlite://", "redis://unused", public_url="https://alerts.example")
    options = cookie_options(settings)
    assert options["secure"] is True and options["httponly"] is True and options["samesite"] == "lax"


def test_sessions_expire_when_idle_and_after_a_shift_and_refuse_forgery() -> None:
    codec = SessionCodec("k" * 40, idle_s=60, lifetime_s=3600)
    now = time.time()
    signed = ConsoleSession(csrf="t").signed_in(7, now)
    value = codec.dumps(signed)

    def user_after(cookie: str, seconds: float) -> int | None:
        loaded = codec.loads(cookie, now + seconds)
        assert loaded is not None
        return loaded.user_id

    assert user_after(value, 30) == 7
    assert user_after(value, 61) is None  # idle too long
    busy = codec.dumps(signed.touched(now + 3590))
    assert user_after(busy, 3601) is None  # active, but past the shift
    assert codec.loads(value[:-2] + "xx", now) is None
    assert SessionCodec("other" * 10, 60, 3600).loads(value, now) is None
    assert signed.csrf != "t"  # a new token at sign-in
