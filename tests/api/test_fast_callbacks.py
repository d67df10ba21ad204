"""The status-callback fast path (``alertsvc.api.fast_callbacks``), on SQLite and PostgreSQL: it answers exactly as
the documented FastAPI route does (status, headers, body, byte for byte) for every kind of request, it is the one
that answers signed callbacks (its counts say so), it applies them (500 at once, none lost), and the route stays in
the OpenAPI document. Access-log lines of answered callbacks are dropped, refusals kept."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from alertsvc.api.fast_callbacks import FastStatusCallbacks, counts
from alertsvc.app import create_app
from alertsvc.logging_setup import QuietSuccess, Redactor
from alertsvc.runtime import Runtime
from tests.tracking.test_hooks_and_links import signed
from tests.tracking.test_receipt_batches import STATUS, sent_deliveries, state_of

FORM = "application/x-www-form-urlencoded"


def route_only_app(runtime: Runtime) -> FastAPI:
    """The same app without the fast path: every callback answered by the FastAPI route."""
    app = create_app(runtime=runtime)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not FastStatusCallbacks]
    return app


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


Answer = tuple[int, list[tuple[str, str]], bytes]
Make = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def answered(client: httpx.AsyncClient, make: Make) -> Answer:
    response = await make(client)
    return response.status_code, list(response.headers.multi_items()), response.content


def form_post(runtime: Runtime, params: dict[str, str], *, sign: bool = True, **extra: str) -> Make:
    """A POST of ``params`` as Twilio's form, signed as Twilio signs (unless ``sign`` is false), with ``extra``
    headers replacing the default ones."""
    signature = {name.lower(): value for name, value in signed(runtime, STATUS, params).items()} if sign else {}
    headers = {"content-type": FORM, **signature, **extra}

    async def make(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(STATUS, content=str(httpx.QueryParams(params)).encode(), headers=headers)

    return make


async def test_both_paths_answer_byte_for_byte_the_same(runtime: Runtime) -> None:
    rows = list(await sent_deliveries(runtime, 2))
    big = {"MessageSid": rows[0], "MessageStatus": "delivered", "Padding": "x" * (70 * 1024)}

    async def streamed_big(client: httpx.AsyncClient) -> httpx.Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(80):
                yield b"Padding=" + b"x" * 1024 + b"&"

        return await client.post(STATUS, content=chunks(), headers={"content-type": FORM, "x-twilio-signature": "x"})

    async def as_json(client: httpx.AsyncClient) -> httpx.Response:
        params = {"MessageSid": rows[0], "MessageStatus": "delivered"}
        return await client.post(STATUS, json=params, headers=signed(runtime, STATUS, params))

    async def get(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(STATUS)

    cases: dict[str, tuple[Make, str]] = {
        "valid": (form_post(runtime, {"MessageSid": rows[0], "MessageStatus": "delivered"}), "served"),
        "valid, charset": (
            form_post(
                runtime,
                {"MessageSid": rows[1], "MessageStatus": "sent"},
                **{"content-type": FORM + "; charset=utf-8"},
            ),
            "served",
        ),
        "bad signature": (
            form_post(runtime, {"MessageSid": rows[0], "MessageStatus": "failed"}, **{"x-twilio-signature": "AAAA"}),
            "handed_over",
        ),
        "no signature": (form_post(runtime, {"MessageSid": rows[0], "MessageStatus": "failed"}, sign=False), "neither"),
        "missing field": (form_post(runtime, {"MessageSid": rows[0]}), "handed_over"),
        "not a message id": (form_post(runtime, {"MessageSid": "S" * 101, "MessageStatus": "sent"}), "handed_over"),
        "too many fields": (form_post(runtime, {f"f{n}": "1" for n in range(1001)}), "handed_over"),
        "oversized": (form_post(runtime, big), "neither"),
        "oversized, streamed": (streamed_big, "handed_over"),
        "wrong content type": (as_json, "neither"),
        "GET": (get, "neither"),
    }
    async with client_of(create_app(runtime=runtime)) as fast, client_of(route_only_app(runtime)) as route:
        for name, (make, expected) in cases.items():
            before = (counts.served, counts.handed_over)
            by_fast = await answered(fast, make)
            after = (counts.served, counts.handed_over)
            by_route = await answered(route, make)
            assert (counts.served, counts.handed_over) == after, name  # the route-only app never takes the fast path
            assert by_fast == by_route, name
            took = {"served": (1, 0), "handed_over": (0, 1), "neither": (0, 0)}[expected]
            assert (after[0] - before[0], after[1] - before[1]) == took, name


async def test_the_statuses_are_the_documented_ones(client: httpx.AsyncClient, runtime: Runtime) -> None:
    (sid,) = await sent_deliveries(runtime, 1)
    ok = await form_post(runtime, {"MessageSid": sid, "MessageStatus": "delivered"})(client)
    forged_params = {"MessageSid": sid, "MessageStatus": "failed"}
    forged = await form_post(runtime, forged_params, **{"x-twilio-signature": "A"})(client)
    missing = await form_post(runtime, {"MessageSid": sid})(client)
    assert [ok.status_code, forged.status_code, missing.status_code] == [204, 403, 422]
    assert ok.content == b"" and ok.headers["x-frame-options"] == "DENY" and "content-security-policy" in ok.headers
    assert forged.headers["content-type"] == "application/problem+json"
    assert missing.json()["errors"] == [{"loc": ["body", "MessageSid"], "msg": "required"}]


async def test_500_concurrent_callbacks_are_served_by_the_fast_path_and_none_is_lost(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    rows = await sent_deliveries(runtime, 500)
    before = counts.served

    async def deliver(sid: str) -> int:
        params = {"MessageSid": sid, "MessageStatus": "delivered"}
        return (await client.post(STATUS, data=params, headers=signed(runtime, STATUS, params))).status_code

    statuses = await asyncio.gather(*(deliver(sid) for sid in rows))
    assert statuses == [204] * len(rows)
    assert counts.served - before == len(rows)  # each answered by the fast path, not the route
    states = [await state_of(runtime, delivery_id) for delivery_id in rows.values()]
    assert states == ["delivered"] * len(rows)


async def test_the_route_stays_documented(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/openapi.json")).json()["paths"][STATUS]["post"]
    assert set(operation["responses"]) >= {"204", "403", "413", "415", "422"}
    assert FORM in operation["requestBody"]["content"]


def access_record(path: str, status: int) -> logging.LogRecord:
    arguments = ("1.2.3.4:5", "POST", path, "1.1", status)
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', arguments, None)


@pytest.mark.parametrize(
    ("path", "status", "kept"),
    [
        (STATUS, 204, False),
        (STATUS + "?x=1", 200, False),
        (STATUS, 403, True),
        (STATUS, 413, True),
        (STATUS, 503, True),
        ("/hooks/twilio/inbound", 200, True),
        ("/healthz", 200, True),
    ],
)
def test_answered_callbacks_get_no_access_log_line(path: str, status: int, kept: bool) -> None:
    assert QuietSuccess().filter(access_record(path, status)) is kept


def test_the_quiet_filter_comes_before_the_redactor() -> None:
    from alertsvc.logging_setup import install

    install()
    filters = logging.getLogger("uvicorn.access").filters
    assert isinstance(filters[0], QuietSuccess) and any(isinstance(f, Redactor) for f in filters[1:])
    assert logging.getLogger("uvicorn.access").filter(access_record(STATUS, 204)) is False
    assert logging.getLogger("uvicorn.access").filter(access_record(STATUS, 403))


async def test_a_receipt_the_fast_path_could_not_record_is_handed_to_the_route(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import alertsvc.api.fast_callbacks as fast_callbacks

    async def database_away(*_args: object) -> None:
        raise ConnectionResetError("gone")

    monkeypatch.setattr(fast_callbacks, "submit_twilio_status", database_away)
    ((sid, delivery_id),) = (await sent_deliveries(runtime, 1)).items()
    before = (counts.served, counts.handed_over)
    answer = await form_post(runtime, {"MessageSid": sid, "MessageStatus": "delivered"})(client)
    assert answer.status_code == 204  # the route recorded it
    assert (counts.served - before[0], counts.handed_over - before[1]) == (0, 1)
    assert await state_of(runtime, delivery_id) == "delivered"
    assert "ConnectionResetError" in caplog.text and "gone" not in caplog.text
