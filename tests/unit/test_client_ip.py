"""Client IP resolution behind trusted proxies, and user-agent cleaning."""

from __future__ import annotations

import ipaddress

import pytest

from identity.http.client_ip import clean_user_agent, parse_ip, resolve_client_ip

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:ffff::/48")]


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        # An untrusted peer: X-Forwarded-For is ignored whatever it says.
        ("203.0.113.7", ["198.51.100.1"], "203.0.113.7"),
        ("203.0.113.7", [], "203.0.113.7"),
        # A trusted peer: the right-most hop that is not one of our proxies.
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1, 10.1.1.1"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1,10.1.1.1"], "198.51.100.1"),  # repeated header
        # The client cannot push its own claim past the hop our proxy appended.
        ("10.0.0.2", ["1.1.1.1, 198.51.100.1"], "198.51.100.1"),
        # Trusted peer, no header (a health check from the proxy): the proxy itself.
        ("10.0.0.2", [], "10.0.0.2"),
        # Only trusted hops: the left-most one reached.
        ("10.0.0.2", ["10.9.9.9, 10.1.1.1"], "10.9.9.9"),
        # Garbage where a proxy should have written an address: stop there.
        ("10.0.0.2", ["198.51.100.1, not-an-ip"], "10.0.0.2"),
        ("10.0.0.2", ["garbage, 198.51.100.1"], "198.51.100.1"),
        # Ports, brackets, zones and IPv4-mapped addresses are normalised.
        ("10.0.0.2", ["198.51.100.1:4711"], "198.51.100.1"),
        ("10.0.0.2", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("10.0.0.2", ["fe80::1%eth0"], "fe80::1"),
        ("::ffff:10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("2001:db8:ffff::1", ["2001:DB8::2"], "2001:db8::2"),
        (None, ["198.51.100.1"], None),
        ("not-an-ip", [], None),
    ],
)
def test_resolve_client_ip(peer: str | None, xff: list[str], expected: str | None) -> None:
    assert resolve_client_ip(peer, xff, PROXIES) == expected


def test_no_trusted_proxies_means_the_peer() -> None:
    assert resolve_client_ip("10.0.0.2", ["198.51.100.1"], []) == "10.0.0.2"


def test_parse_ip_rejects_non_addresses() -> None:
    for text in ("", "localhost", "1.2.3", "1.2.3.4.5", "[::1", "::g"):
        assert parse_ip(text) is None


def test_user_agent_is_truncated_and_printable() -> None:
    assert clean_user_agent(None) is None
    assert clean_user_agent("  ") is None
    assert clean_user_agent("curl/8\x00\x1b[31m\x7f") == "curl/8[31m"
    assert len(clean_user_agent("Mozilla/5.0 " * 1000) or "") == 512
