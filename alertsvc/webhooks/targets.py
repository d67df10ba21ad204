"""Where webhooks may point: public http(s) addresses only, unless private ones are allowed by a setting.

Checked at registration and again before every send (a name can be made to resolve elsewhere later), so the
service can never be used to reach into its own network. Every address the host resolves to must be public, as
:mod:`channels.addresses` judges it (the push channel's rule too: IPv6 forms that carry an IPv4, such as NAT64
``64:ff9b::7f00:1`` or 6to4 ``2002:7f00:1::``, count as the IPv4 inside them).
"""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

from alertsvc.errors import FieldError, InvalidInput
from channels.addresses import only_public


class WebhookUrlError(InvalidInput):
    """The URL may not be used; ``str()`` says why (the field error too, at ``body.url``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, message="the URL cannot be used", errors=[FieldError(["body", "url"], reason)])


async def check_url(url: str, allow_private: bool) -> str:
    """The URL if it may be used, resolving its host; raises :class:`WebhookUrlError` otherwise."""
    if len(url) > 2000:
        raise WebhookUrlError("URL is too long")
    try:
        parts = urlsplit(url)
        given_port = parts.port  # a port out of range, or not a number, raises here
    except ValueError:  # also an unclosed IPv6 bracket
        raise WebhookUrlError("URL is not valid: its host or port cannot be read") from None
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise WebhookUrlError("URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise WebhookUrlError("URL must not carry credentials; the signature authenticates us")
    if allow_private:
        return url
    port = given_port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookUrlError("the host does not resolve") from None
    if not only_public(str(info[4][0]) for info in infos):
        raise WebhookUrlError("the host resolves to a private, loopback or reserved address")
    return url
