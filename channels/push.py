"""Push notifications through apprise, behind an allow-list of URL schemes and a check of where they point.

A push address is an apprise URL that a *resident* gives us (``ntfys://ntfy.example.org/my-topic``). Apprise can
reach almost anything: files, local desktop notifiers, arbitrary HTTP endpoints. Unchecked, a subscription
would let anyone make our workers send requests into our own network (server-side request forgery). Hence:

* Only the schemes in ``schemes`` are accepted (default :data:`DEFAULT_PUSH_SCHEMES`); ``json``/``jsons`` (any
  HTTP endpoint) only when a deployment configures them; ``file`` and the local desktop/system notifiers never.
* For schemes whose URL names a server (ntfy in private mode, gotify, json), every address the host resolves to
  must be public (:mod:`channels.addresses`): loopback, private, link-local, shared (CGNAT), reserved, multicast
  and unspecified addresses, and IPv6 forms carrying one (``::ffff:10.0.0.1``, NAT64 ``64:ff9b::a00:1``, 6to4
  ``2002:a00:1::``, Teredo), are refused unless ``allow_private`` (tests, or a self-hosted server on the same
  network, on purpose).
  The check runs when the address is registered and again before each send (a name can change where it points
  between the two). The plugin then resolves the name once more itself, so a deliberately fast-flipping DNS
  record could still slip through: a network egress policy is the real guard, this is the first one.
* ``attach=`` parameters are refused (they make servers fetch arbitrary URLs).

Sending: ``Apprise.async_notify`` (apprise runs the plugin's blocking ``requests`` call in its own thread pool,
so the event loop never blocks), with a per-call deadline. Apprise's own retries are off (``retry=0`` is its
default), because the dispatcher alone retries.

Classification: apprise reports success, failure or timeout, not *why*. Its HTTP plugins do log the status of a
refused request (``... error=429.``), and apprise keeps the warnings logged during each attempt in its result;
we read the status from there. 429 is rate-limited; 408, 425 and 5xx are transient; another 4xx is permanent
(bad topic, revoked token, gone: repeating it cannot help). A failure without a status (connection refused,
DNS, TLS, a plugin error) and a timeout are transient: the server may be back, and the dispatcher's retries
end with the alert's expiry anyway. An address apprise cannot parse, or that the checks above refuse, is permanent.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import ipaddress
import logging
import re
import socket
import uuid
import warnings
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import apprise

from channels.addresses import only_public
from channels.base import DeliveryResult, Message, PermanentError, RateLimited, TransientError

__all__ = [
    "DEFAULT_PUSH_SCHEMES",
    "NEVER_ALLOWED_SCHEMES",
    "ApprisePush",
    "avalidate_push_url",
    "check_push_address",
    "classify_http_status",
    "plugin_class",
    "push_payload",
    "validate_push_url",
]

DEFAULT_PUSH_SCHEMES: frozenset[str] = frozenset({"ntfy", "ntfys", "gotify", "gotifys", "pover", "pbul"})
"""Push services residents may use unless a deployment configures its own list."""

NEVER_ALLOWED_SCHEMES: frozenset[str] = frozenset(
    {
        "file",
        "windows",
        "macosx",
        "dbus",
        "kde",
        "qt",
        "glib",
        "gnome",
        "syslog",
        "rsyslog",
        "mailto",
        "mailtos",
    }
)
"""Local-machine notifiers and files: refused even if configured."""

_SERVER_SCHEMES = frozenset({"ntfy", "ntfys", "gotify", "gotifys", "json", "jsons", "xml", "xmls", "form", "forms"})
"""Schemes whose host part is a server we would connect to (for hosted services it holds a token)."""

_FORBIDDEN_PARAMS = frozenset({"attach"})
_HTTP_STATUS = re.compile(r"error=(\d{3})\b")


PLUGIN_MODULES: dict[str, str] = {
    "ntfy": "ntfy",
    "ntfys": "ntfy",
    "gotify": "gotify",
    "gotifys": "gotify",
    "pover": "pushover",
    "pbul": "pushbullet",
    "json": "custom_json",
    "jsons": "custom_json",
    "xml": "custom_xml",
    "xmls": "custom_xml",
    "form": "custom_form",
    "forms": "custom_form",
}
"""The module under ``apprise.plugins`` of each scheme we allow by default or name in ``_SERVER_SCHEMES``.

Why a table: apprise finds the plugin for a URL by importing *every* plugin it ships (over 400 modules with
their dependencies) the first time any URL is parsed: +10 MiB resident in each process that parses one (the API
on the first push subscription, a worker on the first push send), for the handful of services we allow. A scheme
listed here imports only its own module; any other scheme a deployment allows goes through apprise's full
discovery (:func:`_load_apprise_plugins`) as before.
"""


@functools.cache
def _load_apprise_plugins() -> None:
    """Make apprise discover all its plugins once, quietly (for schemes not in :data:`PLUGIN_MODULES`).

    Discovery imports every plugin module; one of them imports the standard library's deprecated ``imghdr``,
    whose DeprecationWarning is apprise's business, not a fault in a send (and would fail a warnings-as-errors
    test run at whichever test happened to be first).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*imghdr.*")
        apprise.Apprise.instantiate("json://localhost")


def _schemes_of(plugin: type) -> set[str]:
    names: set[str] = set()
    for attribute in (getattr(plugin, "protocol", None), getattr(plugin, "secure_protocol", None)):
        if isinstance(attribute, str):
            names.add(attribute.lower())
        elif isinstance(attribute, (tuple, list, set, frozenset)):
            names.update(str(name).lower() for name in attribute)
    return names


@functools.cache
def plugin_class(scheme: str) -> type | None:
    """apprise's plugin class for ``scheme``, importing only its module; None for a scheme not in the table."""
    module_name = PLUGIN_MODULES.get(scheme)
    if module_name is None:
        return None
    from apprise.plugins.base import NotifyBase

    module = importlib.import_module(f"apprise.plugins.{module_name}")
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, NotifyBase) and scheme in _schemes_of(value):
            return value
    raise LookupError(f"apprise.plugins.{module_name} has no plugin for {scheme}://")


def _instantiate(url: str, scheme: str) -> Any:
    """What ``apprise.Apprise.instantiate(url)`` returns (a plugin, or None for a URL it cannot use)."""
    plugin = plugin_class(scheme)
    if plugin is None:
        _load_apprise_plugins()
        return apprise.Apprise.instantiate(url)
    # As apprise.Apprise.instantiate does it, with the plugin known: parse, then construct; None when refused.
    try:  # apprise's own instantiate turns a constructor error into "not a valid URL"; a parse error too here
        results = plugin.parse_url(url)  # type: ignore[attr-defined]
        if not results:
            return None
        results["tag"] = set()
        results["asset"] = apprise.AppriseAsset()
        instance = plugin(**results)
    except Exception:
        return None
    return instance if instance.enabled else None


def _parse(url: str, schemes: Iterable[str]) -> tuple[Any, str | None]:
    """The apprise plugin for ``url`` and the server host to check (``None`` for hosted services)."""
    if len(url) > 2048 or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ValueError("push URL is too long or contains spaces or control characters")
    scheme = url.partition("://")[0].lower()
    if not scheme or "://" not in url:
        raise ValueError("push URL has no scheme")
    if scheme in NEVER_ALLOWED_SCHEMES or scheme not in frozenset(schemes):
        raise ValueError(f"push URL scheme '{scheme}' is not allowed")
    query = urlsplit(url).query
    if any(key.lower() in _FORBIDDEN_PARAMS for key, _ in parse_qsl(query, keep_blank_values=True)):
        raise ValueError("push URL parameters 'attach' are not allowed")
    plugin = _instantiate(url, scheme)
    if plugin is None:
        raise ValueError(f"not a valid {scheme} URL")
    if scheme not in _SERVER_SCHEMES:
        return plugin, None
    if scheme in ("ntfy", "ntfys") and str(getattr(plugin, "mode", "")) != "private":
        return plugin, None  # ntfy.sh cloud: the host part is a topic
    host = getattr(plugin, "host", None)
    if not host:
        raise ValueError("push URL has no host")
    return plugin, str(host)


def _check_addresses(host: str, addresses: Iterable[str]) -> None:
    """Every address must be public (:mod:`channels.addresses`: IPv6 forms carrying an IPv4 count as that IPv4)."""
    addresses = list(addresses)
    if not addresses:
        raise ValueError("push URL host does not resolve")
    if not only_public(addresses):
        raise ValueError("push URL points to a private, loopback or link-local address")


def _literal_or_local(host: str) -> list[str] | None:
    """Addresses known without DNS: an IP literal, or a name that is local by definition."""
    bare = host.strip("[]").lower()
    try:
        return [str(ipaddress.ip_address(bare))]
    except ValueError:
        pass
    if bare == "localhost" or bare.endswith((".localhost", ".local", ".internal", ".home.arpa")):
        return ["127.0.0.1"]
    return None


def validate_push_url(url: str, allow_private: bool, *, schemes: Iterable[str] = DEFAULT_PUSH_SCHEMES) -> str:
    """``url`` if it may be used as a push address; ValueError with the reason otherwise.

    Blocking (it may resolve DNS): for request handlers that run in a thread; async code uses
    :func:`avalidate_push_url`.
    """
    _, host = _parse(url, schemes)
    if host is not None and not allow_private:
        addresses = _literal_or_local(host)
        if addresses is None:
            try:
                addresses = [str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)]
            except OSError as exc:
                raise ValueError("push URL host does not resolve") from exc
        _check_addresses(host, addresses)
    return url


async def avalidate_push_url(url: str, allow_private: bool, *, schemes: Iterable[str] = DEFAULT_PUSH_SCHEMES) -> Any:
    """Like :func:`validate_push_url` without blocking the loop; returns the apprise plugin to send with."""
    plugin, host = _parse(url, schemes)
    if host is not None and not allow_private:
        addresses = _literal_or_local(host)
        if addresses is None:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise ValueError("push URL host does not resolve") from exc
            addresses = [str(info[4][0]) for info in infos]
        _check_addresses(host, addresses)
    return plugin


def check_push_address(url: str, allow_private: bool, *, schemes: Iterable[str] = DEFAULT_PUSH_SCHEMES) -> None:
    """The checks of :func:`validate_push_url` that need no DNS: the scheme, the URL's form, no ``attach=``, and
    a host given as an IP literal or a local-only name must be public (unless ``allow_private``).

    For the sandbox (:mod:`channels.sandbox`), which refuses the addresses this adapter refuses without reaching
    any network: a name that *resolves* to a private address is refused by the real adapter only.
    """
    _, host = _parse(url, schemes)
    if host is not None and not allow_private:
        addresses = _literal_or_local(host)
        if addresses is not None:
            _check_addresses(host, addresses)


def push_payload(message: Message) -> dict[str, str]:
    """What apprise is given for ``message``: its ``title`` (the subject) and ``body``; the sandbox records it."""
    return {"title": message.subject or "", "body": message.body}


def classify_http_status(status: int | None) -> PermanentError | TransientError | RateLimited:
    """The error for a failed push, from the HTTP status apprise logged (``None``: no HTTP answer at all)."""
    if status is None:
        return TransientError("push_failed", "the push service could not be reached or did not accept the message")
    if status == 429:
        return RateLimited("http_429", "the push service asked us to slow down")
    if status in (408, 425) or status >= 500:
        return TransientError(f"http_{status}", f"the push service answered HTTP {status}")
    return PermanentError(f"http_{status}", f"the push service refused the message (HTTP {status})")


def _logged_status(result: Any) -> int | None:
    for entry in result.logs():
        match = _HTTP_STATUS.search(str(entry.message))
        if match:
            return int(match.group(1))
    return None


class ApprisePush:
    """The push channel: ``Message.to`` is the resident's apprise URL, ``subject`` the title, ``body`` the text."""

    name = "push"

    def __init__(
        self,
        *,
        allow_private: bool = False,
        schemes: Iterable[str] = DEFAULT_PUSH_SCHEMES,
        timeout: float = 10.0,
        app_id: str = "alertsvc",
    ) -> None:
        self._allow_private = allow_private
        self._schemes = frozenset(s.lower() for s in schemes)
        self._timeout = timeout
        self._asset = apprise.AppriseAsset(app_id=app_id, app_desc="public warnings")
        apprise_log = logging.getLogger("apprise")
        if apprise_log.level == logging.NOTSET:  # unless an operator set it: apprise logs every send at INFO, with
            apprise_log.setLevel(logging.WARNING)  # the service's address; the refusals we classify are warnings

    @property
    def max_send_seconds(self) -> float:
        """The longest one send can take: the address check (a DNS lookup) and the notification, each bounded."""
        return self._timeout * 2

    async def send(self, message: Message) -> DeliveryResult:
        try:
            plugin = await avalidate_push_url(message.to, self._allow_private, schemes=self._schemes)
        except ValueError as exc:
            raise PermanentError("invalid_push_url", str(exc)) from exc
        plugin.asset = self._asset
        notifier = apprise.Apprise(asset=self._asset)
        notifier.add(plugin)
        payload = push_payload(message)
        with await notifier.async_notify(body=payload["body"], title=payload["title"], timeout=self._timeout) as result:
            status = result.status
            if status == apprise.AppriseResultStatus.SUCCESS:
                return DeliveryResult(provider_id=f"push-{uuid.uuid4().hex}", accepted_at=datetime.now(UTC))
            if status == apprise.AppriseResultStatus.TIMEOUT:
                raise TransientError("timeout", f"no answer from the push service within {self._timeout:g}s")
            if status == apprise.AppriseResultStatus.NOMATCH:
                raise PermanentError("invalid_push_url", "apprise found no service for the address")
            raise classify_http_status(_logged_status(result))

    async def aclose(self) -> None:
        """Nothing pooled: apprise opens a connection per notification."""
