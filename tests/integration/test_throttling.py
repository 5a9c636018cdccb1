"""Per-client-IP throttling of /token and /register: 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.factories import PASSWORD, login, password_grant, refresh_grant, register


async def test_token_is_throttled_per_client_ip(make_client: Callable[..., Any]) -> None:
    # Behind our proxy, so that one app sees several clients (by X-Forwarded-For).
    client = await make_client(
        client_ip="10.0.0.2",
        trusted_proxies=["10.0.0.0/8"],
        rate_limit_enabled=True,
        rate_limit_token_per_minute=3,
    )
    client.headers["X-Forwarded-For"] = "198.51.100.1"
    await register(client)
    tokens = await login(client)
    for _ in range(2):
        assert (await password_grant(client, "alice@example.com", "wrong")).status_code == 400
    r = await password_grant(client, "alice@example.com", PASSWORD)
    assert r.status_code == 429
    assert r.json()["error"] == "rate_limited"
    # Moving window: the first of the three leaves the window a minute after it was counted.
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert r.headers["cache-control"] == "no-store"
    # Bad requests count too, but refresh grants do not (tokens cannot be guessed).
    r = await client.post("/token", data={"grant_type": "nope"})
    assert r.status_code == 429
    assert (await refresh_grant(client, tokens["refresh_token"])).status_code == 200

    # Another client address is unaffected; the proxy's own address is not what counts.
    other = {"X-Forwarded-For": "198.51.100.2"}
    r = await client.post(
        "/token",
        data={"grant_type": "password", "username": "alice@example.com", "password": PASSWORD},
        headers=other,
    )
    assert r.status_code == 200


async def test_register_is_throttled_per_ip(make_client: Callable[..., Any]) -> None:
    client = await make_client(rate_limit_enabled=True, rate_limit_register_per_hour=2)
    await register(client, "a@example.com")
    bad = await client.post("/register", json={"email": "b@example.com", "password": "short"})
    assert bad.status_code == 422
    r = await client.post("/register", json={"email": "c@example.com", "password": PASSWORD})
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 3600
    assert r.json()["error"] == "rate_limited"


async def test_throttling_is_off_when_disabled(client: httpx.AsyncClient) -> None:
    await register(client)
    for _ in range(40):
        assert (await password_grant(client, "nobody@example.com", "x")).status_code == 400
