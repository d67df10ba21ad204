"""Outbound requests (push servers, webhooks) never reach the service's own network through an IPv6 form that
carries an IPv4 address (IPv4-mapped and -compatible, NAT64, 6to4, Teredo): each is judged as the IPv4 inside it,
when an address is registered and again at send time, against every address the name then resolves to."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertsvc.residents.validation import ValidationOptions, validate_row
from alertsvc.webhooks.sender import DueEvent, post
from alertsvc.webhooks.targets import WebhookUrlError, check_url
from channels.addresses import is_public_address
from channels.base import Message, PermanentError
from channels.push import ApprisePush, avalidate_push_url, validate_push_url

TEREDO_PREFIX = 0x2001_0000 << 96
SIXTOFOUR_PREFIX = 0x2002 << 112
NAT64_PREFIX = int(ipaddress.IPv6Address("64:ff9b::"))

PRIVATE_V4 = ["127.0.0.1", "10.0.0.1", "192.168.1.10", "169.254.169.254", "100.64.0.1", "0.0.0.0", "172.16.5.4"]


def disguises(v4: str) -> dict[str, str]:
    """Every IPv6 form of ``v4``, built by bit arithmetic from the RFCs (not by the code under test)."""
    n = int(ipaddress.IPv4Address(v4))
    public_server = int(ipaddress.IPv4Address("65.54.227.120"))
    teredo = TEREDO_PREFIX | (0x8000_63BF << 32)  # flags and obfuscated port between the two addresses
    return {
        "mapped": str(ipaddress.IPv6Address((0xFFFF << 32) | n)),
        "compatible": str(ipaddress.IPv6Address(n)),
        "nat64": str(ipaddress.IPv6Address(NAT64_PREFIX | n)),
        "6to4": str(ipaddress.IPv6Address(SIXTOFOUR_PREFIX | (n << 80) | 1)),
        "teredo client": str(ipaddress.IPv6Address(teredo | (public_server << 64) | (n ^ 0xFFFFFFFF))),
        "teredo server": str(ipaddress.IPv6Address(teredo | (n << 64) | (public_server ^ 0xFFFFFFFF))),
    }


def public_v4(v4: ipaddress.IPv4Address) -> bool:
    return v4.is_global and not v4.is_multicast


@pytest.mark.parametrize("v4", PRIVATE_V4)
def test_every_disguise_of_a_private_ipv4_is_private(v4: str) -> None:
    for form, address in disguises(v4).items():
        assert not is_public_address(address), (form, address)


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_a_disguised_ipv4_is_judged_as_the_ipv4_inside(n: int) -> None:
    v4 = ipaddress.IPv4Address(n)
    for form, address in disguises(str(v4)).items():
        assert is_public_address(address) is public_v4(v4), (form, address)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("2606:4700:4700::1111", True),  # an ordinary global IPv6 address
        ("64:ff9b::8.8.8.8", True),
        ("2002:808:808::1", True),
        ("64:ff9b:1::808:808", False),  # local-use NAT64 (RFC 8215): a network's own translator
        ("ff0e::1", False),  # global-scope multicast
        ("224.0.1.1", False),
        ("fe80::1%eth0", False),
        ("::", False),
        ("::1", False),
    ],
)
def test_other_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


# --- webhooks ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["mapped", "compatible", "nat64", "6to4", "teredo client", "teredo server"])
async def test_a_webhook_to_a_disguised_private_address_is_refused_unless_allowed(form: str) -> None:
    url = f"http://[{disguises('127.0.0.1')[form]}]:8080/hook"
    with pytest.raises(WebhookUrlError, match="private"):
        await check_url(url, allow_private=False)
    assert await check_url(url, allow_private=True) == url


def resolving_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> list[str]:
    """Make the running loop's resolver answer ``addresses`` for any name; the names it was asked, in order.

    The blocking resolver is made to fail: a check that used it would stall the event loop (and answers "does not
    resolve" here instead of what these tests expect)."""
    asked: list[str] = []

    async def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append(host)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port or 0))
            for a in addresses
        ]

    def blocking(*_args: Any, **_kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_FAIL, "the blocking resolver must not be used here")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", blocking)
    return asked


async def test_the_webhook_sender_checks_every_address_the_name_resolves_to_at_send_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Registered while ``hooks.example.org`` was public; at send time one of its addresses is 6to4 of 10.0.0.1."""
    sent: list[httpx.Request] = []
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(204)))
    event = DueEvent(1, "https://hooks.example.org/in", "secret", {"a": 1}, 1)
    asked = resolving_to(monkeypatch, "93.184.215.14")
    assert await post(client, event, allow_private=False) == ""
    assert len(sent) == 1 and asked == ["hooks.example.org"]
    asked_again = resolving_to(monkeypatch, "93.184.215.14", "2002:a00:1::1")
    assert (await post(client, event, allow_private=False)).startswith("refused")
    assert len(sent) == 1 and asked_again == ["hooks.example.org"]  # resolved again; nothing went out
    await client.aclose()


# --- push ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["mapped", "compatible", "nat64", "6to4", "teredo client", "teredo server"])
def test_a_push_address_on_a_disguised_private_address_is_refused_unless_allowed(form: str) -> None:
    url = f"ntfy://[{disguises('10.0.0.1')[form]}]/alerts"
    with pytest.raises(ValueError, match="private"):
        validate_push_url(url, allow_private=False)
    assert validate_push_url(url, allow_private=True) == url


def test_a_resident_row_with_a_disguised_push_address_names_the_field() -> None:
    row = {"ref": "r-1", "lat": 45.5, "lon": -73.5, "push": "gotify://[64:ff9b::a9fe:a9fe]/token"}  # 169.254.169.254
    problems = validate_row(row, ValidationOptions())
    assert isinstance(problems, list) and [p.field for p in problems] == ["push"]
    assert "a9fe" not in problems[0].reason  # the reason never quotes the address
    accepted = validate_row(row, ValidationOptions(push_allow_private=True))
    assert not isinstance(accepted, list) and accepted.push == row["push"]


async def test_the_push_channel_checks_every_resolved_address_at_send_time_on_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A self-hosted ntfy that was public when the resident subscribed now also resolves to NAT64 of 127.0.0.1:
    the send is refused as permanent before any request, and the name was resolved by the loop, not blocking it."""
    url = "ntfy://push.example.org/alerts"
    asked = resolving_to(monkeypatch, "93.184.215.14")
    assert await avalidate_push_url(url, allow_private=False) is not None
    asked_at_send = resolving_to(monkeypatch, "2606:4700:4700::1111", "64:ff9b::7f00:1")
    push = ApprisePush(allow_private=False, timeout=2)
    with pytest.raises(PermanentError, match="private") as refused:
        await push.send(Message("push", url, "Evacuate", "d", subject="Flood"))
    assert refused.value.code == "invalid_push_url"
    assert asked == asked_at_send == ["push.example.org"]
    await push.aclose()
