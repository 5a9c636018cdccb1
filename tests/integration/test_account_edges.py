"""Edges of the account life cycle: soft-deleted accounts, ended sessions leaving the list,
content-type parameters, and methods the token endpoint does not serve."""

from __future__ import annotations

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.db.models import User
from tests.factories import (
    PASSWORD,
    bearer,
    events,
    login,
    password_grant,
    refresh_grant,
    register,
)


async def test_a_soft_deleted_account_is_gone_and_frees_its_email(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client)
    tokens = await login(client)
    async with sessionmaker() as s:
        await s.execute(update(User).values(deleted_at=User.created_at))
        await s.commit()
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 401
    assert (await refresh_grant(client, tokens["refresh_token"])).json()["error"] == (
        "invalid_grant"
    )
    r = await password_grant(client)
    assert r.json()["error"] == "invalid_grant"
    (failed,) = await events(sessionmaker, "login_failed")
    assert failed.data["reason"] == "unknown_user"

    again = await register(client, "ALICE@example.com")
    fresh = await login(client)
    me = (await client.get("/me", headers=bearer(fresh))).json()
    assert me["id"] == again["id"]


async def test_ended_sessions_leave_the_list(client: httpx.AsyncClient) -> None:
    await register(client)
    mine = await login(client)
    for _ in range(3):
        await login(client)
    listed = (await client.get("/sessions", headers=bearer(mine))).json()["sessions"]
    assert len(listed) == 4
    assert (await client.post("/logout", json={"scope": "others"}, headers=bearer(mine))).is_success
    listed = (await client.get("/sessions", headers=bearer(mine))).json()["sessions"]
    assert [s["current"] for s in listed] == [True]


async def test_form_with_charset_parameter_is_accepted(client: httpx.AsyncClient) -> None:
    await register(client)
    r = await client.post(
        "/token",
        content=f"grant_type=password&username=alice%40example.com&password={PASSWORD}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert r.status_code == 200, r.text


async def test_token_endpoint_other_methods_are_405_and_not_cached(
    client: httpx.AsyncClient,
) -> None:
    for method in ("GET", "PUT", "DELETE"):
        r = await client.request(method, "/token")
        assert r.status_code == 405
        assert r.headers["allow"] == "POST"
        assert r.headers["cache-control"] == "no-store"


async def test_unknown_accounts_never_lock_anything(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client)
    for _ in range(10):
        await password_grant(client, "ghost@example.com", "whatever it is")
    assert len(await events(sessionmaker, "login_failed")) == 10
    assert await events(sessionmaker, "account_locked") == []
    await login(client)
