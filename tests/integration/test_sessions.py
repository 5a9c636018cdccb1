"""GET /sessions, DELETE /sessions/{id}, and POST /logout with scope current | others | all."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import (
    bearer,
    events,
    login,
    refresh_grant,
    register,
    register_client,
    sessions_of,
)


async def status_of(client: httpx.AsyncClient, tokens: dict[str, Any]) -> tuple[int, int]:
    me = await client.get("/me", headers=bearer(tokens))
    refreshed = await refresh_grant(client, tokens["refresh_token"])
    return me.status_code, refreshed.status_code


async def test_sessions_list_their_origin_and_mark_the_current_one(
    make_client: Callable[..., Any],
) -> None:
    laptop = await make_client(client_ip="198.51.100.10")
    phone = await make_client(client_ip="198.51.100.20")
    await register(laptop)
    await register_client(laptop.services, "web")
    laptop_tokens = await login(laptop, client_id="web")
    await phone.post(
        "/token",
        data={"grant_type": "password", "username": "alice@example.com",
              "password": "correct horse battery staple"},
        headers={"User-Agent": "Phone/1.0 " + "x" * 1000},
    )  # fmt: skip
    r = await laptop.get("/sessions", headers=bearer(laptop_tokens))
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    listed = {s["created_ip"]: s for s in r.json()["sessions"]}
    assert set(listed) == {"198.51.100.10", "198.51.100.20"}
    assert listed["198.51.100.10"]["current"] is True
    assert listed["198.51.100.10"]["client_id"] == "web"
    assert listed["198.51.100.20"]["current"] is False
    assert listed["198.51.100.20"]["client_id"] == "identity"  # the first-party client
    assert len(listed["198.51.100.20"]["created_user_agent"]) == 512
    assert listed["198.51.100.20"]["created_user_agent"].startswith("Phone/1.0 xxx")
    for s in listed.values():
        assert {"id", "created_at", "last_used_at", "last_used_ip", "expires_at"} <= set(s)
        assert "refresh" not in str(s)
        assert "nonce" not in str(s)


async def test_last_use_follows_refresh(make_client: Callable[..., Any]) -> None:
    first = await make_client(client_ip="198.51.100.10")
    await register(first)
    tokens = await login(first)
    later = await make_client(client_ip="198.51.100.99")
    fresh = (await refresh_grant(later, tokens["refresh_token"])).json()
    (s,) = (await later.get("/sessions", headers=bearer(fresh))).json()["sessions"]
    assert (s["created_ip"], s["last_used_ip"]) == ("198.51.100.10", "198.51.100.99")


async def test_delete_a_session(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client)
    mine, other = await login(client), await login(client)
    listed = (await client.get("/sessions", headers=bearer(mine))).json()["sessions"]
    other_id = next(s["id"] for s in listed if not s["current"])
    r = await client.delete(f"/sessions/{other_id}", headers=bearer(mine))
    assert r.status_code == 204
    assert await status_of(client, other) == (401, 400)
    assert await status_of(client, mine) == (200, 200)
    (event,) = await events(sessionmaker, "session_revoked")
    assert str(event.session_id) == other_id
    again = await client.delete(f"/sessions/{other_id}", headers=bearer(mine))
    assert again.status_code == 404
    assert again.json()["error"] == "session_not_found"


async def test_cannot_touch_someone_elses_session(client: httpx.AsyncClient) -> None:
    await register(client)
    await register(client, "bob@example.com")
    alice, bob = await login(client), await login(client, "bob@example.com")
    bob_session = (await client.get("/sessions", headers=bearer(bob))).json()["sessions"][0]["id"]
    for target in (bob_session, str(uuid.uuid4()), "not-a-uuid"):
        r = await client.delete(f"/sessions/{target}", headers=bearer(alice))
        assert r.status_code == 404, target
        assert r.json()["error"] == "session_not_found"
    assert await status_of(client, bob) == (200, 200)
    assert len((await client.get("/sessions", headers=bearer(alice))).json()["sessions"]) == 1


@pytest.mark.parametrize(
    ("body", "current", "other"),
    [
        (None, (401, 400), (200, 200)),
        ({"scope": "current"}, (401, 400), (200, 200)),
        ({"scope": "others"}, (200, 200), (401, 400)),
        ({"scope": "all"}, (401, 400), (401, 400)),
    ],
)
async def test_logout_scopes(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: dict[str, str] | None,
    current: tuple[int, int],
    other: tuple[int, int],
) -> None:
    user = await register(client)
    mine, theirs = await login(client), await login(client)
    r = await client.post("/logout", json=body, headers=bearer(mine))
    assert r.status_code == 204
    assert await status_of(client, mine) == current
    assert await status_of(client, theirs) == other
    (event,) = await events(sessionmaker, "logout")
    assert event.data["scope"] == (body or {}).get("scope", "current")
    ended = [s for s in await sessions_of(sessionmaker, user["id"]) if s.revoked_at]
    assert all(s.revoke_reason == "logout" for s in ended)


async def test_logout_bad_scope_is_422(client: httpx.AsyncClient) -> None:
    await register(client)
    tokens = await login(client)
    r = await client.post("/logout", json={"scope": "everything"}, headers=bearer(tokens))
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "scope"
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 200
