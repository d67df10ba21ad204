"""Where webhooks may point: public http(s) addresses only, unless private ones are allowed by a setting.

Checked at registration and again before every send (a name can be made to resolve elsewhere later), so the
service can never be used to reach into its own network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class WebhookUrlError(ValueError):
    """The URL may not be used; ``str()`` says why."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global


async def check_url(url: str, allow_private: bool) -> str:
    """The URL if it may be used, resolving its host; raises :class:`WebhookUrlError` otherwise."""
    if len(url) > 2000:
        raise WebhookUrlError("URL is too long")
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise WebhookUrlError("URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise WebhookUrlError("URL must not carry credentials; the signature authenticates us")
    if allow_private:
        return url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookUrlError("the host does not resolve") from None
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(_is_public(address) for address in addresses):
        raise WebhookUrlError("the host resolves to a private, loopback or reserved address")
    return url
