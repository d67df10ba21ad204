"""Push through apprise: the URL allow-list and where URLs may point; payloads reach the endpoint."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.base import Message, PermanentError
from channels.push import (
    DEFAULT_PUSH_SCHEMES,
    PLUGIN_MODULES,
    ApprisePush,
    _instantiate,
    _load_apprise_plugins,
    avalidate_push_url,
    classify_http_status,
    plugin_class,
    validate_push_url,
)
from standins.push_endpoint import PushStandin

WITH_JSON = DEFAULT_PUSH_SCHEMES | {"json", "jsons"}


@pytest.mark.parametrize(
    "url",
    [
        "ntfys://93.184.215.14/alerts-topic",
        "ntfy://mytopic",  # ntfy.sh cloud: the host part is a topic
        "gotifys://93.184.215.14/AbCdEfGhIjKlMnO",
        "pover://uuuuuuuuuuuuuuuuuuuuuuuuuuuuuu@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "jsons://93.184.215.14/hook",
    ],
)
def test_allowed_urls(url: str) -> None:
    assert validate_push_url(url, allow_private=False, schemes=WITH_JSON) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "not allowed"),
        ("json://93.184.215.14/hook", "not allowed"),  # json only where configured
        ("windows://", "not allowed"),
        ("ntfy://127.0.0.1/topic", "private"),
        ("ntfy://localhost/topic", "private"),
        ("gotify://10.1.2.3/token", "private"),
        ("gotify://192.168.0.10/token", "private"),
        ("gotify://169.254.169.254/token", "private"),  # cloud metadata endpoint
        ("ntfy://[::1]/topic", "private"),
        ("ntfy://[::ffff:127.0.0.1]/topic", "private"),
        ("ntfy://100.64.0.1/topic", "private"),
        ("ntfy://0.0.0.0/topic", "private"),
        ("ntfys://93.184.215.14/t?attach=http://10.0.0.1/x", "attach"),
        ("ntfy://93.184.215.14/t\r\nX", "control"),
        ("not-a-url", "scheme"),
    ],
)
def test_refused_urls(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_push_url(url, allow_private=False)


async def test_private_addresses_only_with_the_explicit_setting() -> None:
    url = "json://127.0.0.1:9/x"
    assert await avalidate_push_url(url, allow_private=True, schemes={"json"}) is not None
    with pytest.raises(ValueError, match="private"):
        await avalidate_push_url(url, allow_private=False, schemes={"json"})


async def test_payload_reaches_the_endpoint(push_endpoint: PushStandin) -> None:
    push = ApprisePush(allow_private=True, schemes={"json", "ntfy"}, timeout=2)
    try:
        await push.send(
            Message("push", f"json://127.0.0.1:{push_endpoint.port}/payload-1", "Évacuez 🌊", "d", subject="Crue")
        )
        await push.send(Message("push", f"ntfy://127.0.0.1:{push_endpoint.port}/topic-1", "Move", "d", subject="Flood"))
    finally:
        await push.aclose()
    sent = next(r for r in push_endpoint.received if r.path == "/payload-1").json()
    assert (sent["title"], sent["message"]) == ("Crue", "Évacuez 🌊")
    assert any(r.path in ("/", "/topic-1") and b"Move" in r.body for r in push_endpoint.received)


async def test_refused_url_is_permanent_before_any_request() -> None:
    push = ApprisePush(allow_private=False)
    with pytest.raises(PermanentError) as caught:
        await push.send(Message("push", "file:///etc/passwd", "x", "d"))
    assert caught.value.code == "invalid_push_url"
    assert "passwd" not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (None, "TransientError"),
        (429, "RateLimited"),
        (500, "TransientError"),
        (408, "TransientError"),
        (404, "PermanentError"),
        (401, "PermanentError"),
        (410, "PermanentError"),
    ],
)
def test_status_classification(status: int | None, kind: str) -> None:
    assert type(classify_http_status(status)).__name__ == kind


@pytest.mark.parametrize("scheme", sorted(PLUGIN_MODULES))
def test_each_listed_scheme_loads_the_plugin_apprise_itself_would_use(scheme: str) -> None:
    """The table of plugin modules must agree with apprise's own discovery (a renamed module fails here)."""
    from apprise.plugins import N_MGR

    _load_apprise_plugins()
    assert plugin_class(scheme) is N_MGR[scheme]


@pytest.mark.parametrize(
    "url",
    [
        "ntfys://93.184.215.14/alerts-topic",
        "ntfy://mytopic",
        "ntfy://user:pass@93.184.215.14:8080/topic?priority=high",
        "gotifys://93.184.215.14/AbCdEfGhIjKlMnO",
        "gotify://93.184.215.14",  # no token: the constructor refuses it
        "pover://uuuuuuuuuuuuuuuuuuuuuuuuuuuuuu@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "pover://short@x",  # short keys: apprise takes them as they are
        "pbul://o.abcdefghijklmnopqrstuvwxyz012345",
        "jsons://93.184.215.14/hook?-X-Token=abc",
        "forms://93.184.215.14/hook",
        "xml://93.184.215.14:8080/",
    ],
)
def test_the_targeted_plugin_parses_a_url_as_apprise_instantiate_does(url: str) -> None:
    import apprise

    _load_apprise_plugins()
    expected = apprise.Apprise.instantiate(url)
    got = _instantiate(url, url.partition("://")[0])
    assert (got is None) == (expected is None)
    if got is not None:
        assert type(got) is type(expected)
        assert got.url(privacy=False) == expected.url(privacy=False)


def test_a_push_url_is_checked_without_importing_every_apprise_plugin() -> None:
    """Memory: apprise's discovery imports 400+ modules (+10 MiB a process); an allowed scheme needs one."""
    code = (
        "import sys, apprise.plugins\n"
        "from channels.push import validate_push_url\n"
        "validate_push_url('ntfys://93.184.215.14/topic', allow_private=False)\n"
        "validate_push_url('gotifys://93.184.215.14/AbCdEfGhIjKlMnO', allow_private=False)\n"
        "assert not apprise.plugins.N_MGR, 'apprise discovered all its plugins'\n"
        "assert 'apprise.plugins.slack' not in sys.modules\n"
        "print(sum(name.startswith('apprise.plugins.') for name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) < 10


@settings(max_examples=300, deadline=None)
@given(scheme=st.sampled_from(sorted(PLUGIN_MODULES)), rest=st.text(max_size=80))
def test_any_text_after_an_allowed_scheme_gives_a_plugin_or_a_reason(scheme: str, rest: str) -> None:
    """What a resident types becomes a usable address or a ValueError (a 422), never another exception."""
    url = f"{scheme}://{rest}"
    try:
        accepted = validate_push_url(url, allow_private=True, schemes=PLUGIN_MODULES.keys())
    except ValueError as refused:
        assert str(refused)
    else:
        assert accepted == url
