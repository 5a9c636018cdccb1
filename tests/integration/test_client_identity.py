"""Client IP and user agent as recorded on sessions, attempts and events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import PASSWORD, attempts, events, register, sessions_of

XFF = {"X-Forwarded-For": "1.1.1.1, 198.51.100.50"}


async def login_via(client: Any, headers: dict[str, str]) -> None:
    r = await client.post(
        "/token",
        data={"grant_type": "password", "username": "alice@example.com", "password": PASSWORD},
        headers=headers,
    )
    assert r.status_code == 200, r.text


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    make_client: Callable[..., Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(client_ip="203.0.113.7", trusted_proxies=["10.0.0.0/8"])
    user = await register(client)
    await login_via(client, XFF)
    (row,) = await sessions_of(sessionmaker, user["id"])
    assert row.created_ip == "203.0.113.7"
    (attempt,) = await attempts(sessionmaker)
    assert attempt.ip == "203.0.113.7"


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    make_client: Callable[..., Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(client_ip="10.0.0.2", trusted_proxies=["10.0.0.0/8"])
    user = await register(client)
    await login_via(client, {**XFF, "User-Agent": "Agent\x7f/1 " + "y" * 2000})
    (row,) = await sessions_of(sessionmaker, user["id"])
    # The right-most untrusted hop, not the left-most one the client could have forged.
    assert row.created_ip == "198.51.100.50"
    assert row.created_user_agent is not None
    assert len(row.created_user_agent) == 512
    assert row.created_user_agent.startswith("Agent/1 yyy")
    (event,) = await events(sessionmaker, "login_succeeded")
    assert (event.ip, event.user_agent) == (row.created_ip, row.created_user_agent)
