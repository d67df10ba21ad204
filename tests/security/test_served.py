"""A real ``alertsvc serve``, as an attacker meets it: ``X-Forwarded-For`` is believed only from the proxies named
in ``ALERTSVC_TRUSTED_PROXIES`` (none by default, loopback neither), and its log shows no link token, phone number
or e-mail address, whatever path or query a request had."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alertsvc.app import create_app
from alertsvc.logging_setup import REDACTED, Redactor, route_paths, token_prefixes
from alertsvc.settings import Settings
from tests.security.serving import Serving

SIGNUP_LIMIT = 10
"""``POST /r/subscribe`` answers at most this many requests an hour per client address (then 429)."""

SECRETS = {
    "/a/": "7k.AckSignatureNeverLogged_0123",
    "/u/": "7k.UnsubscribeSignatureNeverLogged",
    "/r/manage/": "12.ManageSignatureNeverLogged-xyz",
    "/r/confirm/": "12-ConfirmSecretNeverLogged",
}
PHONE = "+15145550111"
EMAIL = "resident.name@example.org"


@pytest.fixture(scope="module")
def default_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serving]:
    """``alertsvc serve`` with no ALERTSVC_TRUSTED_PROXIES."""
    server = Serving(tmp_path_factory.mktemp("serve-default")).wait_until_up()
    try:
        yield server
    finally:
        server.stop()


def signups_from_rotating_addresses(base_url: str, count: int) -> list[int]:
    """The statuses of ``count`` sign-up posts, each claiming another client address in X-Forwarded-For."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        return [
            client.post("/r/subscribe", data={"lat": "45.5"}, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
            for n in range(1, count + 1)
        ]


def test_forwarded_for_is_not_believed_by_default(default_serve: Serving) -> None:
    statuses = signups_from_rotating_addresses(default_serve.base_url, SIGNUP_LIMIT + 1)
    assert 429 not in statuses[:SIGNUP_LIMIT], statuses
    assert statuses[SIGNUP_LIMIT] == 429, statuses  # all counted against 127.0.0.1, the connection's address
    output = default_serve.wait_for_output('"POST /r/subscribe HTTP/1.1" 429')
    assert "203.0.113." not in output  # the access log names the real client too


def test_forwarded_for_is_believed_from_a_trusted_proxy(tmp_path: Path) -> None:
    server = Serving(tmp_path, {"ALERTSVC_TRUSTED_PROXIES": "10.9.9.9, 127.0.0.0/8"}).wait_until_up()
    try:
        statuses = signups_from_rotating_addresses(server.base_url, SIGNUP_LIMIT + 1)
        assert 429 not in statuses, statuses  # each forwarded address has a budget of its own
        assert "203.0.113.11:0" in server.wait_for_output("203.0.113.11")
    finally:
        server.stop()


def test_the_log_shows_no_token_phone_number_or_e_mail_address(default_serve: Serving) -> None:
    with httpx.Client(base_url=default_serve.base_url, timeout=10) as client:
        for prefix, token in SECRETS.items():
            assert client.get(f"{prefix}{token}").status_code < 500
            assert client.post(f"{prefix}{token}?answer=help", data={"answer": "help"}).status_code < 500
        client.get("/api/v1/sandbox/outbox", params={"to": PHONE, "channel": "sms"})
        client.get(f"/api/v1/sandbox/outbox?to={PHONE}")  # a + not percent-encoded, as people type it
        client.get("/api/v1/sandbox/outbox", params={"to": EMAIL})
        client.get("/r/subscribe", params={"email": EMAIL, "sms": PHONE})
    output = default_serve.wait_for_output("/api/v1/sandbox/outbox?to=<e-mail>")
    for prefix, token in SECRETS.items():
        assert token not in output
        assert f'"GET {prefix}{REDACTED} HTTP/1.1"' in output, output[-3000:]
        assert f'"POST {prefix}{REDACTED}?answer=help HTTP/1.1"' in output
    assert PHONE not in output and PHONE[1:] not in output  # neither as typed nor percent-encoded (%2B...)
    assert EMAIL not in output and "resident.name" not in output
    assert "/api/v1/sandbox/outbox?to=<phone>&channel=sms" in output


def test_every_route_with_a_token_is_redacted() -> None:
    """Each route of the app with a ``{token}`` parameter (a new signed link included, the day it is added)."""
    app = create_app(Settings(_env_file=None))
    redactor = Redactor(token_prefixes(app))
    paths = [path for path in route_paths(app) if "{token" in path]
    assert {"/a/{token}", "/u/{token}", "/r/manage/{token}", "/r/confirm/{token}"} <= set(paths)
    for path in paths:
        concrete = re.sub(r"\{token[^}]*\}", "Se.cret-Token_1", re.sub(r"\{(?!token)[^}]+\}", "42", path))
        for text in (concrete, f"https://alerts.city.example{concrete}?x=1", f"GET {concrete} failed"):
            assert "Se.cret-Token_1" not in redactor.redact(text), (path, text)


def test_messages_arguments_and_tracebacks_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    """Records of any logger: the message, each argument (kept a tuple for formatters that unpack it), the
    traceback; numbers stay numbers."""
    import logging

    logger = logging.getLogger("tests.security.redaction")
    redactor = Redactor()
    logger.addFilter(redactor)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("%s - %s %d", "127.0.0.1:5", "/u/abc.def?x=1", 200)
            logger.info("sms to %s failed", "%2B15145550111")
            try:
                raise ValueError(f"bad link /a/{SECRETS['/a/']} for {EMAIL}")
            except ValueError:
                logger.exception("unhandled error on GET /r/manage/%s", "tok.en")
    finally:
        logger.removeFilter(redactor)
    first, second, third = caplog.records
    assert first.args == ("127.0.0.1:5", f"/u/{REDACTED}?x=1", 200)
    assert second.getMessage() == "sms to <phone> failed"
    assert third.getMessage() == f"unhandled error on GET /r/manage/{REDACTED}"
    assert SECRETS["/a/"] not in caplog.text and EMAIL not in caplog.text and "tok.en" not in caplog.text


def test_install_redacts_what_any_logger_writes_through_the_configured_handlers() -> None:
    """alertsvc's own lines (``api.problems`` logs the path of a request it could not serve) and the libraries':
    the redactor sits on every handler, not only on the access logger."""
    import io
    import logging

    from alertsvc.logging_setup import install

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        install()
        logging.getLogger("alertsvc.api.problems").warning("storage unavailable on %s %s", "POST", "/a/12.tokEN")
        logging.getLogger("some.library").info("sent to %s", PHONE)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for target in [logging.getLogger("uvicorn.access"), *logging.getLogger().handlers, handler]:
            for redactor in [f for f in target.filters if isinstance(f, Redactor)]:
                target.removeFilter(redactor)
    written = stream.getvalue()
    assert f"storage unavailable on POST /a/{REDACTED}" in written and "sent to <phone>" in written, written
    assert "tokEN" not in written and PHONE not in written
