"""Who is calling: the client IP and a storable user agent.

The client IP is the socket peer, unless the peer is one of our trusted proxies; then it is
the right-most `X-Forwarded-For` hop that is not a trusted proxy. Hops to the left of that
were written by the client itself and prove nothing, so they are never believed.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

from identity.bounds import USER_AGENT_MAX
from identity.http.context import services_of
from identity.http.errors import request_id_of
from identity.services.origin import Origin

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CONTROL = dict.fromkeys([*range(0x20), 0x7F])


@functools.lru_cache(maxsize=4096)
def parse_ip(text: str) -> IPAddress | None:
    """An address, with IPv4-mapped IPv6 folded to IPv4; None for anything else.

    Cached: pure, and called for the peer of every request (handlers, access log)."""
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]  # an IPv6 zone ("fe80::1%eth0") says nothing about who
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, proxies: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def resolve_client_ip(
    peer: str | None, forwarded_for: Sequence[str], trusted_proxies: Sequence[IPNetwork]
) -> str | None:
    """The client's address as text, or None when the peer is unknown (no socket)."""
    address = parse_ip(peer) if peer else None
    if address is None:
        return None
    if not _trusted(address, trusted_proxies):
        return str(address)
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        hop_address = parse_ip(hop)
        if hop_address is None:
            # Garbage where a trusted proxy should have written an address: stop believing
            # the header and keep the last address a trusted party vouched for.
            break
        address = hop_address
        if not _trusted(address, trusted_proxies):
            break
    return str(address)


def clean_user_agent(value: str | None) -> str | None:
    """Printable, and at most as long as the column."""
    if not value:
        return None
    cleaned = value.translate(_CONTROL).strip()[:USER_AGENT_MAX]
    return cleaned or None


def request_origin(request: Request) -> Origin:
    return origin_of(request, services_of(request).trusted_proxies)


def origin_of(request: Request, trusted_proxies: Sequence[IPNetwork]) -> Origin:
    peer = request.client.host if request.client else None
    return Origin(
        ip=resolve_client_ip(peer, request.headers.getlist("x-forwarded-for"), trusted_proxies),
        user_agent=clean_user_agent(request.headers.get("user-agent")),
        request_id=request_id_of(request),
    )
