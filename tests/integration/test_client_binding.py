"""A refresh token is redeemable only by the client it was issued to (RFC 6749 §6), and a
genuine superseded one ends its session whatever client, scope or endpoint comes with it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import events, login, register, register_client, sessions_of
from tests.integration.conftest import AppClient


async def grant(client: AppClient, token: str, **extra: Any) -> Any:
    auth = extra.pop("auth", None)
    return await client.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": token, **extra}, auth=auth
    )


async def test_another_client_cannot_refresh_with_or_without_client_id(
    client: AppClient,
) -> None:
    await register(client)
    await register_client(client.services, "mobile")
    await register_client(client.services, "web")
    mobile = (await login(client, client_id="mobile"))["refresh_token"]
    first_party = (await login(client))["refresh_token"]

    for other in ({"client_id": "web"}, {"client_id": "identity"}, {}):
        r = await grant(client, mobile, **other)
        assert (r.status_code, r.json()["error"]) == (400, "invalid_grant"), other
    r = await client.post("/refresh", json={"refresh_token": mobile})  # the first-party alias
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    r = await grant(client, first_party, client_id="mobile")
    assert r.json()["error"] == "invalid_grant"

    assert (await grant(client, mobile, client_id="mobile")).status_code == 200
    assert (await grant(client, first_party)).status_code == 200


async def test_a_confidential_client_must_authenticate_to_refresh(client: AppClient) -> None:
    await register(client)
    secret = await register_client(
        client.services, "backend", confidential=True,
        grant_types=["password", "refresh_token"], scopes=["read"],
    )  # fmt: skip
    r = await client.post(
        "/token",
        data={"grant_type": "password", "username": "alice@example.com",
              "password": "correct horse battery staple", "scope": "read"},
        auth=("backend", str(secret)),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    token = r.json()["refresh_token"]

    # Naming no client at all makes it a first-party request: not the token's client.
    assert (await grant(client, token)).json()["error"] == "invalid_grant"
    for attempt in ({"client_id": "backend"}, {"auth": ("backend", "cs_not-the-secret")}):
        r = await grant(client, token, **attempt)
        assert r.status_code == 401, attempt
        assert r.json()["error"] == "invalid_client"
        assert r.headers["www-authenticate"] == 'Basic realm="identity"'
        assert r.headers["cache-control"] == "no-store"
    r = await grant(client, token, client_id="backend", client_secret=str(secret))
    assert r.status_code == 200, r.text


async def test_a_superseded_token_ends_the_session_whatever_comes_with_it(
    make_client: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(refresh_reuse_grace=0)
    user = await register(client)
    await register_client(client.services, "mobile", scopes=["read"])
    for presented_with in (
        {"scope": "admin"},  # a scope nobody was granted
        {"client_id": "mobile"},  # a foreign client
        {"via": "/refresh"},
    ):
        old = (await login(client))["refresh_token"]
        assert (await grant(client, old)).status_code == 200
        if presented_with.pop("via", None):
            r = await client.post("/refresh", json={"refresh_token": old})
        else:
            r = await grant(client, old, **presented_with)
        assert r.json()["error"] == "invalid_grant"
    rows = await sessions_of(sessionmaker, user["id"])
    assert [s.revoke_reason for s in rows] == ["refresh_token_reused"] * 3
    assert len(await events(sessionmaker, "refresh_token_reused")) == 3


async def test_the_grace_replay_is_for_its_own_client_only(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user = await register(client)
    await register_client(client.services, "mobile")
    old = (await login(client))["refresh_token"]
    assert (await grant(client, old)).status_code == 200
    # Within the grace window, but from another client: a copy in foreign hands.
    assert (await grant(client, old, client_id="mobile")).json()["error"] == "invalid_grant"
    (row,) = await sessions_of(sessionmaker, user["id"])
    assert row.revoke_reason == "refresh_token_reused"
