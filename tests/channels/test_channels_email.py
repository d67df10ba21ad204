"""Email: template patching produces correct messages; the pool reuses and repairs connections; URLs parse."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.base import Message, PermanentError
from channels.email import SmtpConfig, SmtpEmail, classify_smtp_reply, parse_smtp_url
from channels.email_mime import ACK_LINK, UNSUBSCRIBE_LINK, EmailTemplate, check_address, check_link
from standins.smtp_server import SmtpStandin

FROM = "alerts@example.org"
TEXT = (
    "Hochwasser in Köln – bitte höher gelegene Orte aufsuchen.\n"
    f"Bestätigen: {ACK_LINK}\n\nAbmelden: {UNSUBSCRIBE_LINK}\n"
)
HTML = (
    "<p>Hochwasser in Köln – bitte höher gelegene Orte aufsuchen. 🌊</p>\n"
    f'<p><a href="{ACK_LINK}">Ich bin in Sicherheit</a></p>\n'
    f'<p><a href="{UNSUBSCRIBE_LINK}">Abmelden</a></p>\n'
)


def _template() -> EmailTemplate:
    return EmailTemplate.compile(
        from_addr=FROM, subject="Unwetterwarnung: Überflutung – sofort handeln", text=TEXT, html_body=HTML
    )


def _parse(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _bodies(parsed: EmailMessage) -> tuple[str, str]:
    text_part = parsed.get_body(("plain",))
    html_part = parsed.get_body(("html",))
    assert isinstance(text_part, EmailMessage) and isinstance(html_part, EmailMessage)
    return _content(text_part), _content(html_part)


def _content(part: EmailMessage) -> str:
    """A part's text with the wire's CRLF line ends read as newlines."""
    return str(part.get_content()).replace("\r\n", "\n")


def test_patched_message_parses_with_the_right_recipient_and_links() -> None:
    ack = "https://alerts.example.org/a/tok.en_1?x=1&y=2"
    unsub = "https://alerts.example.org/u/abc~def"
    data = _template().render(to="bob@example.net", reference="delivery-42", ack_link=ack, unsubscribe_link=unsub)
    parsed = _parse(data)
    assert parsed["To"] == "bob@example.net"
    assert parsed["From"] == FROM
    assert parsed["Subject"] == "Unwetterwarnung: Überflutung – sofort handeln"
    assert parsed["Message-ID"] == "<delivery-42@example.org>"
    assert parsed["List-Unsubscribe"] == f"<{unsub}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = _bodies(parsed)
    assert text == TEXT.replace(ACK_LINK, ack).replace(UNSUBSCRIBE_LINK, unsub)
    assert "Köln" in html and "🌊" in html
    assert 'href="https://alerts.example.org/a/tok.en_1?x=1&amp;y=2"' in html
    assert "@@alertsvc" not in data.decode()
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


def test_each_recipient_gets_only_their_own_values() -> None:
    template = _template()
    first = template.render(
        to="a@example.net", reference="1", ack_link="https://x/a/1", unsubscribe_link="https://x/u/1"
    )
    second = template.render(
        to="b@example.net", reference="2", ack_link="https://x/a/2", unsubscribe_link="https://x/u/2"
    )
    assert b"a@example.net" not in second and b"https://x/a/1" not in second
    assert _parse(second)["To"] == "b@example.net"
    assert first.count(b"https://x/u/1") == 3  # header, text, html


def test_patched_bytes_match_the_slow_path() -> None:
    """The fast path and the standard library agree on what the bodies say."""
    template = EmailTemplate.compile(from_addr=FROM, subject="Ä", text=f"ä {ACK_LINK}\n", with_unsubscribe=False)
    data = template.render(to="c@example.net", reference="r", ack_link="https://x/a", unsubscribe_link="https://x/u")
    parsed = _parse(data)
    assert _content(parsed) == "ä https://x/a\n"
    assert "List-Unsubscribe" not in parsed


@pytest.mark.parametrize(
    "to",
    ["bob@example.net\r\nBcc: eve@example.net", "bob smith@example.net", "<bob@example.net>", "a,b@example.net", ""],
)
def test_unsafe_addresses_are_refused(to: str) -> None:
    with pytest.raises(ValueError):
        check_address(to)


@pytest.mark.parametrize(
    "link", ['https://x/a" onclick="x', "javascript:alert(1)", "https://x/a b", "https://x/\r\nX: y", "https://x/ü"]
)
def test_unsafe_links_are_refused(link: str) -> None:
    with pytest.raises(ValueError):
        check_link(link)


def test_a_template_whose_lines_could_grow_too_long_is_refused() -> None:
    with pytest.raises(ValueError, match="998"):
        EmailTemplate.compile(from_addr=FROM, subject="s", text="x" * 600 + f" {ACK_LINK}\n")


@settings(max_examples=60, deadline=None)
@given(
    body=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=200),
    token=st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=1, max_size=60),
)
def test_any_text_survives_patching(body: str, token: str) -> None:
    template = EmailTemplate.compile(from_addr=FROM, subject=body[:50] or "s", text=f"{body}\n{ACK_LINK}\n")
    link = f"https://example.org/a/{token}"
    parsed = _parse(template.render(to="d@example.net", reference=token, ack_link=link, unsubscribe_link=link))
    content = _content(parsed)
    assert content.endswith(f"\n{link}\n")
    assert parsed["To"] == "d@example.net"


async def test_rendered_bytes_go_through_smtp_unchanged(smtp_server: SmtpStandin) -> None:
    channel = SmtpEmail(url=smtp_server.url, from_addr=FROM, pool_size=1, timeout=2)
    data = _template().render(
        to="rcpt-mime@example.net", reference="d-9", ack_link="https://x/a/9", unsubscribe_link="https://x/u/9"
    )
    try:
        result = await channel.send(
            Message(channel="email", to="rcpt-mime@example.net", body="", reference="d-9", mime=data)
        )
    finally:
        await channel.aclose()
    assert result.provider_id == "<d-9@example.org>"
    received = [m for m in smtp_server.messages if m.rcpt_tos == ["rcpt-mime@example.net"]][-1]
    assert "BODY=8BITMIME" in received.mail_options
    assert received.data.replace(b"\r\n", b"\n") == data.replace(b"\r\n", b"\n")
    assert received.parsed()["To"] == "rcpt-mime@example.net"


async def test_built_message_has_text_html_and_unsubscribe_headers(smtp_server: SmtpStandin) -> None:
    channel = SmtpEmail(url=smtp_server.url, from_addr=FROM, pool_size=1, timeout=2)
    message = Message(
        channel="email",
        to="rcpt-built@example.net",
        subject="Évacuation",
        body="Quittez la zone.",
        html="<p>Quittez la zone.</p>",
        headers={"List-Unsubscribe": "<https://x/u/7>"},
        reference="d-7",
    )
    try:
        await channel.send(message)
    finally:
        await channel.aclose()
    parsed = [m for m in smtp_server.messages if m.rcpt_tos == ["rcpt-built@example.net"]][-1].parsed()
    assert parsed["Subject"] == "Évacuation"
    assert parsed["List-Unsubscribe"] == "<https://x/u/7>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert _bodies(parsed) == ("Quittez la zone.\n", "<p>Quittez la zone.</p>\n")


async def test_pool_reuses_its_connections() -> None:
    async with SmtpStandin() as server:
        channel = SmtpEmail(url=server.url, from_addr=FROM, pool_size=3, timeout=2)
        try:
            await asyncio.gather(
                *(channel.send(Message("email", f"r{i}@example.net", "b", f"d{i}", subject="s")) for i in range(60))
            )
        finally:
            await channel.aclose()
        assert len(server.messages) == 60
        assert server.connections == 3


async def test_pool_reconnects_after_the_server_drops_it() -> None:
    async with SmtpStandin() as server:
        channel = SmtpEmail(url=server.url, from_addr=FROM, pool_size=1, timeout=2)
        try:
            await channel.send(Message("email", "r1@example.net", "b", "d1", subject="s"))
            for protocol in list(server._protocols):
                assert protocol.transport is not None
                protocol.transport.close()
            await asyncio.sleep(0.05)
            await channel.send(Message("email", "r2@example.net", "b", "d2", subject="s"))
        finally:
            await channel.aclose()
        assert server.connections == 2
        assert len(server.messages) == 2


async def test_auth_with_percent_encoded_credentials_and_refusal() -> None:
    async with SmtpStandin(credentials=("relay user", "p@ss:word")) as server:
        url = f"smtp://relay%20user:p%40ss%3Aword@127.0.0.1:{server.port}"
        good = SmtpEmail(url=url, from_addr=FROM, pool_size=1, timeout=2)
        bad = SmtpEmail(url=f"smtp://relay%20user:nope@127.0.0.1:{server.port}", from_addr=FROM, timeout=2)
        try:
            await good.send(Message("email", "r@example.net", "b", "d", subject="s"))
            with pytest.raises(PermanentError) as caught:
                await bad.send(Message("email", "r@example.net", "b", "d", subject="s"))
        finally:
            await good.aclose()
            await bad.aclose()
        assert caught.value.code == "smtp_auth"
        assert len(server.messages) == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", SmtpConfig("mail.example.org", 25)),
        ("smtp+starttls://u:p%2F@mail.example.org", SmtpConfig("mail.example.org", 587, "u", "p/", start_tls=True)),
        ("smtps://u:p@mail.example.org:2465", SmtpConfig("mail.example.org", 2465, "u", "p", use_tls=True)),
    ],
)
def test_smtp_urls(url: str, expected: SmtpConfig) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize("url", ["http://mail.example.org", "smtp://", "mail.example.org:25"])
def test_bad_smtp_urls(url: str) -> None:
    with pytest.raises(ValueError):
        parse_smtp_url(url)


@pytest.mark.parametrize(
    ("code", "text", "outcome"),
    [
        (550, "5.1.1 no such user", "permanent"),
        (554, "5.7.1 refused", "permanent"),
        (421, "4.3.2 shutting down", "transient"),
        (450, "4.2.1 busy", "transient"),
        (451, "4.3.0 try later", "transient"),
        (452, "4.3.1 insufficient storage", "transient"),
        (421, "4.7.28 unusual rate of unsolicited mail", "rate_limited"),
        (450, "4.7.1 Throttled", "rate_limited"),
        (599, "?", "permanent"),
        (499, "?", "transient"),
    ],
)
def test_smtp_reply_table(code: int, text: str, outcome: str) -> None:
    assert classify_smtp_reply(code, text)[0] == outcome
