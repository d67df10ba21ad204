"""Failing parts, with real processes: ``alertsvc serve`` and ``alertsvc worker`` as in production, PostgreSQL
reached through a TCP proxy the test cuts, and a Redis server of the test's own killed and started again.

What they prove (issue 17, "Failing parts"):

* **Database gone**: every API route answers ``503`` with ``Retry-After`` and a problem document (never ``500``),
  ``/readyz`` answers ``503`` while ``/healthz`` stays ``200``; once the database is back the same requests
  succeed in the same process; the worker rides the outage out and an alert submitted just before it is fanned
  out exactly once after.
* **Redis gone**: signed Twilio status callbacks, residents' SMS (a SAFE, a STOP) and their answers through links
  (``POST /a/{token}``) are still recorded, because a request carrying a credential that checks needs no Redis
  (a valid ``X-Twilio-Signature``: the hooks count only forged ones; a link token we signed: the link limits let
  it through, :mod:`alertsvc.http.ratelimit`); unsigned callbacks and forged links get ``503`` (the limits fail
  safe), never ``500``. An alert submitted meanwhile is committed as ``approved`` (the alert row is the outbox: it
  says a fan-out is owed) and the sweeper enqueues it once Redis is back; every message goes out once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from alertsvc.embedded_redis import EmbeddedRedis, free_port
from alertsvc.runtime import Runtime, open_runtime
from alertsvc.security.api_keys import create_key
from alertsvc.security.links import LinkSigner
from alertsvc.security.scopes import Scope
from alertsvc.store.models import Acknowledgement, Alert, Contact, Delivery
from standins.twilio_api import TwilioStandin
from tests.conftest import _create_pg_database, _drop_pg_database, auth, make_settings, postgres_admin_url
from tests.factories import cap_alert
from tests.integration.conftest import WorkerProcesses
from tests.integration.serve_process import ServeProcess
from tests.integration.test_crash_safety import (
    SECRET,
    Row,
    add_residents,
    crash,
    sid_by_marker,
    until_done,
    worker_env,
)
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow

PROBLEM_JSON = "application/problem+json"
RESIDENT = {"ref": "cut-1", "lat": 52.52, "lon": 13.405, "sms": "+4915112345678"}
"""A resident far outside the test alert's square: adding one must not change who receives it."""


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database of the test's own (these tests cut PostgreSQL's connections: no SQLite half)."""
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL not reachable (set ALERTSVC_TEST_POSTGRES_URL)")
    url = await _create_pg_database(admin)
    try:
        yield url
    finally:
        await _drop_pg_database(admin, url)


async def poll(check: Callable[[], Awaitable[bool]], within: float, what: str, interval: float = 0.1) -> None:
    """Wait until ``check()`` is true; fail naming ``what`` after ``within`` seconds (a deadline, not a sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(interval)


def assert_unavailable(response: httpx.Response, what: str) -> None:
    """A truthful "not now": 503, ``Retry-After`` in whole seconds, and a problem document saying so."""
    assert response.status_code == 503, f"{what}: {response.status_code} {response.text[:300]}"
    assert response.headers.get("retry-after", "").isdigit(), f"{what}: no Retry-After"
    assert response.headers["content-type"].startswith(PROBLEM_JSON), f"{what}: {response.headers['content-type']}"
    body = response.json()
    assert body["status"] == 503 and body["title"] == "Service Unavailable" and body["detail"], body


async def make_key(runtime: Runtime, *scopes: str) -> str:
    async with runtime.sessions() as session, session.begin():
        return await create_key(session, f"key-{'-'.join(scopes)}", frozenset(Scope(s) for s in scopes), actor="test")


def one_message_each(twilio: TwilioStandin, rows: list[Row], numbers: list[str]) -> None:
    """Each resident got exactly one message of these deliveries, the one whose sid the row records."""
    sids = sid_by_marker(twilio, rows)
    assert {row.id: sids[row.id] for row in rows} == {row.id: [row.provider_id] for row in rows}
    assert sorted(row.address for row in rows) == sorted(numbers)


# --- the database, through a proxy the test cuts ------------------------------------------------------------------


async def test_database_cut_answers_503_then_recovers_and_the_alert_goes_out_once(
    tmp_path: Path, pg_url: str, twilio: TwilioStandin, workers: WorkerProcesses
) -> None:
    parsed = make_url(pg_url)
    redis = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=False).start()
    with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
        via_proxy = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        runtime = await open_runtime(make_settings(tmp_path, pg_url, redis.url))  # the test's own, direct line
        env = worker_env(
            tmp_path, via_proxy, redis.url, twilio,
            sms_rate_per_second=200, job_timeout_s=5, stall_after_s=2, sweep_interval_s=2,
        )  # fmt: skip
        serve = ServeProcess(env, tmp_path / "serve")
        try:
            numbers = await add_residents(runtime, 120)
            key = await make_key(runtime, "alerts:send", "alerts:read", "residents:write")
            worker = workers.start(env, "worker")
            serve.start()
            async with httpx.AsyncClient(base_url=serve.base_url, headers=auth(key), timeout=15) as http:
                assert (await http.get("/readyz")).status_code == 200
                assert (await http.get("/api/v1/alerts")).status_code == 200
                submitted = await http.post("/api/v1/alerts", json=cap_alert())
                assert submitted.status_code == 201, submitted.text
                alert_id = submitted.json()["id"]
                proxy.cut()  # just after the commit: the worker meets the outage mid-fan-out or before it
                callback, callback_signature = signed_status(serve, twilio, "SM" + "0" * 32, "delivered")

                requests: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
                    "GET /api/v1/alerts": lambda: http.get("/api/v1/alerts"),
                    "GET /api/v1/alerts/{id}": lambda: http.get(f"/api/v1/alerts/{alert_id}"),
                    "POST /api/v1/alerts": lambda: http.post("/api/v1/alerts", json=cap_alert()),
                    "POST /api/v1/residents": lambda: http.post("/api/v1/residents", json=RESIDENT),
                    "GET /readyz": lambda: http.get("/readyz", headers={}),
                    "POST /hooks/twilio/status (signed)": lambda: http.post(
                        "/hooks/twilio/status", data=callback, headers={"X-Twilio-Signature": callback_signature}
                    ),
                    "POST /a/{token}": lambda: http.post(
                        f"/a/{LinkSigner(SECRET, 'ack').sign(1)}", data={"answer": "safe"}
                    ),
                }
                for attempt in range(3):  # a pooled connection dies first, then new ones are refused
                    for what, send in requests.items():
                        response = await send()
                        if what == "GET /readyz":
                            assert response.status_code == 503, response.text
                            assert response.json()["checks"]["database"].startswith("unavailable"), response.text
                        else:
                            assert_unavailable(response, f"{what} (attempt {attempt})")
                    assert (await http.get("/healthz")).status_code == 200
                # The worker keeps running through a few sweeps that cannot reach the database.
                deadline = asyncio.get_running_loop().time() + 5
                while asyncio.get_running_loop().time() < deadline:
                    assert worker.poll() is None, "the worker died with the database"
                    assert serve.alive(), "alertsvc serve died with the database"
                    await asyncio.sleep(0.25)

                proxy.restore()

                async def answers_again() -> bool:
                    return (await http.get("/api/v1/alerts")).status_code == 200

                await poll(answers_again, within=20, what="the alerts list answers 200 once the database is back")
                assert (await http.get("/readyz")).status_code == 200
                assert (await http.get(f"/api/v1/alerts/{alert_id}")).status_code == 200
                resident = await http.post("/api/v1/residents", json=RESIDENT)
                assert resident.status_code in (200, 201), resident.text

            rows = await until_done(runtime, alert_id, len(numbers), within=45)
            assert {row.state for row in rows} == {"sent"}
            one_message_each(twilio, rows, numbers)
            assert Counter(message.to for message in twilio.messages) == Counter(numbers), "a number got two"
            assert worker.poll() is None, "the worker did not ride the outage out"
        finally:
            serve.close()
            print(serve.logs())
            await runtime.close()
            redis.stop()


# --- Redis, killed and started again -----------------------------------------------------------------------------


def signed_status(serve: ServeProcess, twilio: TwilioStandin, sid: str, status: str) -> tuple[dict[str, str], str]:
    """A status callback as Twilio sends it: the form, and its ``X-Twilio-Signature`` over the public URL."""
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": twilio.account_sid}
    url = f"{serve.base_url}/hooks/twilio/status"
    return form, RequestValidator(twilio.auth_token).compute_signature(url, form)


def signed_inbound(serve: ServeProcess, twilio: TwilioStandin, number: str, body: str) -> tuple[dict[str, str], str]:
    """An SMS a resident sent, as Twilio forwards it, signed."""
    form = {"From": number, "Body": body, "MessageSid": f"SM{abs(hash((number, body))):032x}"[:34]}
    url = f"{serve.base_url}/hooks/twilio/inbound"
    return form, RequestValidator(twilio.auth_token).compute_signature(url, form)


async def opted_out(runtime: Runtime, number: str) -> bool:
    async with runtime.sessions() as session:
        return await session.scalar(select(Contact.opted_out_at).where(Contact.address == number)) is not None


async def states_of(runtime: Runtime, ids: list[int]) -> dict[int, str]:
    async with runtime.sessions() as session:
        result = await session.execute(select(Delivery.id, Delivery.state).where(Delivery.id.in_(ids)))
        return {int(row[0]): str(row[1]) for row in result}


async def acks_of(runtime: Runtime, alert_id: str) -> int:
    async with runtime.sessions() as session:
        count = await session.scalar(select(func.count()).where(Acknowledgement.alert_id == alert_id))
        return int(count or 0)


async def test_redis_killed_keeps_callbacks_and_answers_and_the_alert_sent_meanwhile_goes_out_once(
    tmp_path: Path, pg_url: str, twilio: TwilioStandin, workers: WorkerProcesses
) -> None:
    port = free_port()
    server = EmbeddedRedis(tmp_path / "redis", port=port, persist=False).start()
    replacement: EmbeddedRedis | None = None
    runtime = await open_runtime(make_settings(tmp_path, pg_url, server.url))
    env = worker_env(
        tmp_path, pg_url, server.url, twilio,
        sms_rate_per_second=50, job_timeout_s=5, stall_after_s=2, sweep_interval_s=2,
    )  # fmt: skip
    serve = ServeProcess(env, tmp_path / "serve")
    try:
        numbers = await add_residents(runtime, 40)
        key = await make_key(runtime, "alerts:send", "alerts:read")
        worker = workers.start(env, "worker")
        serve.start()
        async with httpx.AsyncClient(base_url=serve.base_url, timeout=15) as http:
            first = await http.post("/api/v1/alerts", json=cap_alert(), headers=auth(key))
            assert first.status_code == 201, first.text
            first_id = first.json()["id"]
            rows = await until_done(runtime, first_id, len(numbers), within=30)
            one_message_each(twilio, rows, numbers)

            crash(server)
            assert (await http.get("/healthz")).status_code == 200
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("unavailable"), ready.text

            # Twilio's signed callbacks are recorded; an unsigned or badly signed one is refused, not let through.
            delivered = rows[: len(rows) // 2]
            for row in delivered:
                form, signature = signed_status(serve, twilio, str(row.provider_id), "delivered")
                response = await http.post("/hooks/twilio/status", data=form, headers={"X-Twilio-Signature": signature})
                assert response.status_code == 204, (
                    f"signed callback with Redis down: {response.status_code} {response.text}"
                )
            form, signature = signed_status(serve, twilio, str(rows[-1].provider_id), "delivered")
            unsigned = await http.post("/hooks/twilio/status", data=form)
            assert_unavailable(unsigned, "an unsigned callback with Redis down")
            forged = await http.post("/hooks/twilio/status", data=form, headers={"X-Twilio-Signature": "x" + signature})
            assert_unavailable(forged, "a forged callback with Redis down")

            # Residents' answers through their links are recorded; a forged link is refused.
            ack = LinkSigner(SECRET, "ack")
            answering = rows[:10]
            for row in answering:
                response = await http.post(f"/a/{ack.sign(row.id)}", data={"answer": "safe"})
                assert response.status_code == 200, f"answer with Redis down: {response.status_code} {response.text}"
            forged_link = await http.post(f"/a/{ack.sign(rows[0].id)[:-2]}xx", data={"answer": "safe"})
            assert forged_link.status_code == 503, forged_link.text

            # Residents' SMS, signed by Twilio: a SAFE is an answer, a STOP an opt-out; both kept.
            stopped = rows[-2].address
            for number, text in ((rows[10].address, "SAFE"), (stopped, "STOP")):
                form, signature = signed_inbound(serve, twilio, number, text)
                response = await http.post(
                    "/hooks/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature}
                )
                assert response.status_code == 200, (
                    f"{text} by SMS with Redis down: {response.status_code} {response.text}"
                )
            answered = len(answering) + 1

            # An alert submitted now is committed as owing a fan-out (the alert row is the outbox).
            second = await http.post("/api/v1/alerts", json=cap_alert(), headers=auth(key))
            assert second.status_code == 201, f"submit with Redis down: {second.status_code} {second.text}"
            second_id = second.json()["id"]
            async with runtime.sessions() as session:
                assert await session.scalar(select(Alert.state).where(Alert.id == second_id)) == "approved"

            async def recorded() -> bool:
                states = await states_of(runtime, [row.id for row in delivered])
                answers = await acks_of(runtime, first_id)
                return (
                    set(states.values()) == {"delivered"} and answers == answered and await opted_out(runtime, stopped)
                )

            await poll(recorded, within=15, what="callbacks and answers recorded while Redis is down")
            assert worker.poll() is None and serve.alive()

            replacement = EmbeddedRedis(tmp_path / "redis", port=port, persist=False).start()  # empty: nothing queued

            still_in = [number for number in numbers if number != stopped]
            second_rows = await until_done(runtime, second_id, len(numbers), within=45)
            assert [row.address for row in second_rows if row.state == "suppressed"] == [stopped]  # the STOP held
            one_message_each(twilio, [row for row in second_rows if row.state == "sent"], still_in)
            assert Counter(message.to for message in twilio.messages) == Counter(numbers + still_in), "a number got two"

            # Once Redis is back the limiter counts again: callbacks and answers go on as before.
            rest = rows[len(rows) // 2 :]
            for row in rest:
                form, signature = signed_status(serve, twilio, str(row.provider_id), "delivered")
                response = await http.post("/hooks/twilio/status", data=form, headers={"X-Twilio-Signature": signature})
                assert response.status_code == 204, response.text
            response = await http.post(f"/a/{ack.sign(rows[-1].id)}", data={"answer": "help"})
            assert response.status_code == 200, response.text
            assert (await http.get("/readyz")).status_code == 200

            async def all_recorded() -> bool:
                states = await states_of(runtime, [row.id for row in rows])
                return set(states.values()) == {"delivered"} and await acks_of(runtime, first_id) == answered + 1

            await poll(all_recorded, within=15, what="callbacks and answers recorded after Redis is back")
            assert worker.poll() is None, "the worker did not ride out the Redis restart"
    finally:
        serve.close()
        print(serve.logs())
        await runtime.close()
        crash(server)
        if replacement is not None:
            replacement.stop()
