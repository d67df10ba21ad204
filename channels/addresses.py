"""Whether an outbound request may go to an IP address: public unicast only, so that no address a caller gives us
(a resident's push server, an integrator's webhook) makes the service reach into its own network.

Shared by the push channel and the webhook sender (both check a name's every address when it is registered and
again before each send). The test is the standard library's ``is_global`` (IANA's special-purpose registries) and
not multicast, with one addition: IPv6 forms that carry an IPv4 address are judged by the IPv4 inside them.
``ipaddress`` calls ``::127.0.0.1`` (IPv4-compatible), ``64:ff9b::7f00:1`` (NAT64) and ``2002:7f00:1::`` (6to4)
global, although a host with NAT64 or a 6to4 relay turns each into a packet to 127.0.0.1. So:

* IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d`` and NAT64 ``64:ff9b::a.b.c.d``: the IPv4 in the
  last 32 bits;
* 6to4 ``2002::/16``: the IPv4 in bits 16 to 48;
* Teredo ``2001::/32``: the server's IPv4 (bits 32 to 64) and the client's (the last 32 bits, inverted), both;
* the local-use NAT64 prefix ``64:ff9b:1::/48`` (RFC 8215) is private by definition, wherever its IPv4 sits.

An address with an IPv4 inside is public exactly when every IPv4 inside is. Extraction is ``ipaddress``'s own
(``ipv4_mapped``, ``sixtofour``, ``teredo``), plus the low 32 bits for the two prefixes it has no property for.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

__all__ = ["embedded_ipv4", "is_public_address", "only_public"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
"""The well-known NAT64 prefix (RFC 6052): the IPv4 is the last 32 bits."""
NAT64_LOCAL: Final = ipaddress.IPv6Network("64:ff9b:1::/48")
"""The local-use NAT64 prefix (RFC 8215): a network's own translator, never public."""
IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")
"""Deprecated IPv4-compatible addresses (RFC 4291): the IPv4 is the last 32 bits (``::`` and ``::1`` included,
as 0.0.0.0 and 0.0.0.1, which are not public either)."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (none for an ordinary IPv6 address)."""
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip in NAT64 or ip in IPV4_COMPATIBLE:
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo  # (server, client)
    return ()


def _public(ip: IPAddress) -> bool:
    return ip.is_global and not ip.is_multicast


def is_public_address(address: str | IPAddress) -> bool:
    """Whether a request may go to ``address`` (an IPv6 zone such as ``%eth0`` is ignored); ValueError for text
    that is not an IP address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv4Address):
        return _public(ip)
    if ip in NAT64_LOCAL:
        return False
    inside = embedded_ipv4(ip)
    if inside:
        return all(_public(v4) for v4 in inside)
    return _public(ip)


def only_public(addresses: Iterable[str | IPAddress]) -> bool:
    """True when there is at least one address and every one is public (a name must not resolve anywhere else)."""
    found = False
    for address in addresses:
        if not is_public_address(address):
            return False
        found = True
    return found
