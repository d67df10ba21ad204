"""SMS over the official twilio client against the Messages API stand-in: details beyond the conformance table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from channels.base import Message, PermanentError, RateLimited, TransientError
from channels.sms import TwilioSms, parse_retry_after
from channels.twilio_codes import CALLBACK_ERRORS, REST_ERRORS, CallbackOutcome, callback_outcome, classify_rest_error
from standins._serve import start_app
from standins.twilio_api import CALLBACK_OUTCOMES, MAGIC_TO, TwilioStandin


def _sms(api: TwilioStandin, **overrides: str) -> TwilioSms:
    options = {"account_sid": api.account_sid, "auth_token": api.auth_token, "from_": "+15005550006"}
    options.update(overrides)
    return TwilioSms(**options, base_url=api.base_url, timeout=2)


async def test_fields_reach_twilio_and_the_sid_comes_back(twilio_api: TwilioStandin) -> None:
    sms = _sms(twilio_api)
    try:
        result = await sms.send(
            Message("sms", "+15551239999", "Évacuez – zone 3 🌊", "d-1", status_callback="https://h/cb")
        )
    finally:
        await sms.aclose()
    assert result.provider_id.startswith("SM") and result.status == "queued"
    received = next(m for m in twilio_api.messages if m.sid == result.provider_id)
    assert (received.to, received.from_, received.body) == ("+15551239999", "+15005550006", "Évacuez – zone 3 🌊")
    assert received.status_callback == "https://h/cb"


async def test_one_session_serves_many_concurrent_sends(twilio_api: TwilioStandin) -> None:
    sms = _sms(twilio_api)
    try:
        results = await asyncio.gather(*(sms.send(Message("sms", f"+1555000{i:04d}", "x", str(i))) for i in range(50)))
        session = sms._http.session
        assert session is not None and not session.closed
    finally:
        await sms.aclose()
    assert len({r.provider_id for r in results}) == 50
    assert sms._http.session is None


async def test_wrong_credentials_are_a_permanent_configuration_error(twilio_api: TwilioStandin) -> None:
    sms = _sms(twilio_api, auth_token="wrong")
    try:
        with pytest.raises(PermanentError) as caught:
            await sms.send(Message("sms", "+15551230000", "x", "d"))
    finally:
        await sms.aclose()
    assert caught.value.code == "20003"


async def test_rate_limit_carries_retry_after(twilio_api: TwilioStandin) -> None:
    sms = _sms(twilio_api)
    try:
        with pytest.raises(RateLimited) as caught:
            await sms.send(Message("sms", "+15005550429", "x", "d"))
        await sms.send(Message("sms", "+15551230000", "x", "d"))  # the next send does not inherit it
    finally:
        await sms.aclose()
    assert caught.value.retry_after == 2.0


@pytest.mark.parametrize(("status", "error"), [(429, RateLimited), (500, TransientError), (503, TransientError)])
async def test_forced_http_statuses(status: int, error: type[Exception]) -> None:
    async with TwilioStandin(force_status=status) as api:
        sms = _sms(api)
        try:
            with pytest.raises(error):
                await sms.send(Message("sms", "+15551230000", "x", "d"))
        finally:
            await sms.aclose()


@pytest.mark.parametrize("to", sorted(MAGIC_TO))
async def test_every_magic_number_is_classified_by_the_table(twilio_api: TwilioStandin, to: str) -> None:
    sms = _sms(twilio_api)
    try:
        with pytest.raises((PermanentError, TransientError, RateLimited)) as caught:
            await sms.send(Message("sms", to, "x", "d"))
    finally:
        await sms.aclose()
    assert int(caught.value.code) in REST_ERRORS
    assert to not in caught.value.reason


@pytest.fixture
async def callback_receiver() -> AsyncIterator[tuple[str, list[tuple[str, dict[str, str], str]]]]:
    received: list[tuple[str, dict[str, str], str]] = []

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        received.append((str(request.url), {k: str(v) for k, v in form.items()}, request.headers["X-Twilio-Signature"]))
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/hooks/twilio/status", handle)
    runner, port = await start_app(app)
    try:
        yield f"http://127.0.0.1:{port}/hooks/twilio/status", received
    finally:
        await runner.cleanup()


async def test_status_callbacks_are_signed_like_twilio_signs_them(
    callback_receiver: tuple[str, list[tuple[str, dict[str, str], str]]],
) -> None:
    url, received = callback_receiver
    async with TwilioStandin(send_callbacks=True) as api:
        sms = _sms(api)
        try:
            ok = await sms.send(Message("sms", "+15551230000", "x", "d1", status_callback=url))
            bad = await sms.send(Message("sms", "+15005553005", "x", "d2", status_callback=url))
            async with asyncio.timeout(5):
                await api.wait_for_callbacks(4)
        finally:
            await sms.aclose()
    validator = RequestValidator(api.auth_token)
    assert all(validator.validate(u, params, signature) for u, params, signature in received)
    assert not RequestValidator("other-token").validate(received[0][0], received[0][1], received[0][2])
    by_sid = {(p["MessageSid"], p["MessageStatus"]): p for _, p, _ in received}
    assert (ok.provider_id, "delivered") in by_sid
    assert by_sid[(bad.provider_id, "undelivered")]["ErrorCode"] == "30005"


def test_rest_table_falls_back_on_http_status() -> None:
    assert classify_rest_error(429, None)[0] == "rate_limited"
    assert classify_rest_error(502, 99999)[0] == "transient"
    assert classify_rest_error(400, 99999)[0] == "permanent"
    assert classify_rest_error(400, 21211) == ("permanent", "21211", "invalid 'To' phone number")


def test_callback_table_covers_the_stand_in_outcomes() -> None:
    for status, code in CALLBACK_OUTCOMES.values():
        assert code in CALLBACK_ERRORS
        assert callback_outcome(status, code)[0] in set(CallbackOutcome)
    assert callback_outcome("undelivered", 30006)[0] is CallbackOutcome.UNDELIVERABLE
    assert callback_outcome("failed", 30007)[0] is CallbackOutcome.FAILED
    assert callback_outcome("undelivered", 39999)[0] is CallbackOutcome.UNDELIVERABLE


@pytest.mark.parametrize(
    ("value", "expected"), [("2", 2.0), (None, None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)]
)
def test_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected
