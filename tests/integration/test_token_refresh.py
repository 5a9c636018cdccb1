"""Refresh rotation: compare-and-swap, the grace replay, reuse detection,
idle and absolute expiry, and tokens we did not issue."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.clock import FixedClock
from tests.conftest import TEST_SECRET
from tests.factories import bearer, events, login, refresh_grant, register, sessions_of
from tests.integration.conftest import AppClient

INVALID_GRANT = "invalid_grant"


async def refreshed(client: AppClient, token: str) -> dict[str, Any]:
    r = await refresh_grant(client, token)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body: dict[str, Any] = r.json()
    return body


async def refused(client: AppClient, token: str, *, via: str = "/token") -> None:
    if via == "/token":
        r = await refresh_grant(client, token)
    else:
        r = await client.post("/refresh", json={"refresh_token": token})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == INVALID_GRANT
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"


async def test_rotation_issues_a_new_pair_each_time(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user = await register(client)
    rt0 = (await login(client, scope="read write"))["refresh_token"]
    one = await refreshed(client, rt0)
    assert set(one) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert one["scope"] == "read write"
    assert ".1." in one["refresh_token"]
    r = await client.post("/refresh", json={"refresh_token": one["refresh_token"]})
    assert r.status_code == 200, r.text
    assert ".2." in r.json()["refresh_token"]
    assert (await client.get("/me", headers=bearer(r.json()))).status_code == 200
    (row,) = await sessions_of(sessionmaker, user["id"])
    assert row.refresh_generation == 2
    assert sorted(e.data["generation"] for e in await events(sessionmaker, "token_refreshed")) == [
        1,
        2,
    ]


async def test_replaying_the_predecessor_within_grace_returns_the_same_successor(
    make_client: Any, sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    client = await make_client()
    user = await register(client)
    rt0 = (await login(client))["refresh_token"]
    rt1 = (await refreshed(client, rt0))["refresh_token"]
    clock.advance(9)
    other_device = await make_client(client_ip="198.51.100.44")
    replay = await refreshed(other_device, rt0)
    assert replay["refresh_token"] == rt1
    assert (await client.get("/me", headers=bearer(replay))).status_code == 200
    # Idempotent: nothing rotated, nothing revoked; but the replay leaves its trace.
    (row,) = await sessions_of(sessionmaker, user["id"])
    assert (row.refresh_generation, row.revoked_at) == (1, None)
    assert row.last_used_ip == "198.51.100.44"
    rotated, replayed = await events(sessionmaker, "token_refreshed")
    assert rotated.data == {"generation": 1}
    assert replayed.data == {"generation": 1, "replay": True}
    assert replayed.ip == "198.51.100.44"
    assert (await refreshed(client, rt1))["refresh_token"] != rt1


async def test_reuse_revokes_the_session_and_spares_the_others(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user = await register(client)
    other = await login(client)
    rt = [(await login(client))["refresh_token"]]
    for _ in range(3):
        rt.append((await refreshed(client, rt[-1]))["refresh_token"])
    latest_access = (await refreshed(client, rt[2]))["access_token"]  # grace replay of rt2

    await refused(client, rt[0])
    await refused(client, rt[3])  # the whole session is gone, the newest token too
    await refused(client, rt[2], via="/refresh")
    assert (await client.get("/me", headers=bearer(latest_access))).status_code == 401

    (reused,) = await events(sessionmaker, "refresh_token_reused")
    assert reused.data == {"generation": 3, "presented_generation": 0}
    assert str(reused.user_id) == user["id"]
    rows = {str(s.id): s for s in await sessions_of(sessionmaker, user["id"])}
    assert rows[str(reused.session_id)].revoke_reason == "refresh_token_reused"

    # The user's other session is untouched.
    other_next = await refreshed(client, other["refresh_token"])
    assert (await client.get("/me", headers=bearer(other_next))).status_code == 200


async def test_replaying_the_predecessor_after_grace_is_reuse(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    await register(client)
    rt0 = (await login(client))["refresh_token"]
    rt1 = (await refreshed(client, rt0))["refresh_token"]
    clock.advance(10.001)
    await refused(client, rt0)
    await refused(client, rt1)
    assert len(await events(sessionmaker, "refresh_token_reused")) == 1


async def test_with_no_grace_any_replay_is_reuse(
    make_client: Callable[..., Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(refresh_reuse_grace=0)
    await register(client)
    rt0 = (await login(client))["refresh_token"]
    rt1 = (await refreshed(client, rt0))["refresh_token"]
    await refused(client, rt0)
    await refused(client, rt1)


async def test_idle_timeout_and_sliding_expiry(
    make_client: Callable[..., Any],
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    client = await make_client(refresh_idle_ttl=100, session_max_ttl=1000)
    await register(client)
    token = (await login(client))["refresh_token"]
    for _ in range(3):  # each use pushes the idle deadline out again
        clock.advance(90)
        token = (await refreshed(client, token))["refresh_token"]
    clock.advance(100)
    await refused(client, token)
    assert await events(sessionmaker, "refresh_token_reused") == []


async def test_absolute_lifetime_caps_the_session(
    make_client: Callable[..., Any], clock: FixedClock
) -> None:
    client = await make_client(refresh_idle_ttl=100, session_max_ttl=150)
    await register(client)
    token = (await login(client))["refresh_token"]
    clock.advance(90)
    token = (await refreshed(client, token))["refresh_token"]
    clock.advance(59)
    token = (await refreshed(client, token))["refresh_token"]
    clock.advance(1)
    await refused(client, token)


async def test_tokens_we_did_not_issue_change_nothing(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user = await register(client)
    tokens = await login(client)
    sid = uuid.UUID(client.services.access_tokens.check(tokens["access_token"]).sid)
    sid_b64 = base64.urlsafe_b64encode(sid.bytes).rstrip(b"=").decode()
    forged_mac = base64.urlsafe_b64encode(b"\x00" * 32).rstrip(b"=").decode()
    # The session id is public (the `sid` claim): a made-up MAC must not trigger reuse revocation.
    for generation in (0, 1, 7):
        await refused(client, f"rt_{sid_b64}.{generation}.{forged_mac}")
    for garbage in ("", "rt_", "not-a-token", tokens["access_token"], "rt_" + "A" * 5000):
        r = await refresh_grant(client, garbage)
        assert r.status_code == 400
        assert r.json()["error"] in {"invalid_grant", "invalid_request"}
    assert await events(sessionmaker, "refresh_token_reused") == []
    (row,) = await sessions_of(sessionmaker, user["id"])
    assert row.revoked_at is None
    await refreshed(client, tokens["refresh_token"])


async def test_a_rotated_server_secret_keeps_sessions_alive(
    make_client: Callable[..., Any],
) -> None:
    old = await make_client()
    await register(old)
    token = (await login(old))["refresh_token"]
    rotated = await make_client(
        secret_keys=["a-brand-new-secret-that-is-long-enough-42", TEST_SECRET]
    )
    successor = (await refreshed(rotated, token))["refresh_token"]
    assert (await refreshed(rotated, successor))["refresh_token"]
    # The new first secret mints: the old configuration alone no longer verifies them.
    await refused(old, successor)


async def test_scope_can_narrow_but_never_widen(client: AppClient) -> None:
    await register(client)
    token = (await login(client, scope="read write"))["refresh_token"]
    r = await client.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": token, "scope": "read"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "read"
    claims = client.services.access_tokens.check(r.json()["access_token"])
    assert claims.claims["scope"] == "read"
    wider = await client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": r.json()["refresh_token"],
            "scope": "read admin",
        },
    )
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"
    # The session keeps its full grant.
    assert (await refreshed(client, r.json()["refresh_token"]))["scope"] == "read write"


async def test_disabled_user_cannot_refresh(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from sqlalchemy import update

    from identity.db.models import User

    await register(client)
    tokens = await login(client)
    async with sessionmaker() as s:
        await s.execute(update(User).values(is_active=False))
        await s.commit()
    await refused(client, tokens["refresh_token"])
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 401


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"refresh_token=rt_x", "application/x-www-form-urlencoded"),
        (b"{}", "application/json"),
        (b'{"refresh_token": 5}', "application/json"),
        (b'{"refresh_token": ""}', "application/json"),
        (b"{not json", "application/json"),
        (b'{"refresh_token": "\xff"}', "application/json"),
    ],
)
async def test_refresh_endpoint_bad_input_is_invalid_request(
    client: AppClient, content: bytes, content_type: str
) -> None:
    r = await client.post("/refresh", content=content, headers={"Content-Type": content_type})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"
    assert set(r.json()) == {"error", "error_description"}
    assert r.headers["cache-control"] == "no-store"
