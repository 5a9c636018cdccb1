"""Abuse resistance around the password work: per-account throttling that a distributed
guesser cannot spread away, load shedding in front of the hash pool, and a grace replay
that a logout committed just before it loses to."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.crypto.passwords import PasswordHasher
from tests.factories import PASSWORD, bearer, login, refresh_grant, register
from tests.integration.conftest import AppClient

WRONG = "definitely not the password"


async def guess(client: AppClient, email: str, password: str, address: str, **extra: str) -> Any:
    """A password grant that reaches the service from `address` (through our own proxy)."""
    return await client.post(
        "/token",
        data={"grant_type": "password", "username": email, "password": password, **extra},
        headers={"X-Forwarded-For": address},
    )


async def test_guesses_from_many_addresses_are_throttled_per_account(make_client: Any) -> None:
    client = await make_client(
        client_ip="10.0.0.2",
        trusted_proxies=["10.0.0.0/8"],
        rate_limit_enabled=True,
        rate_limit_token_per_minute=100,
        rate_limit_account_per_minute=3,
    )
    await register(client)
    device = (await login(client))["device_token"]
    # Every guess from an address of its own: far below any per-address limit.
    statuses = [
        (await guess(client, "Alice@Example.com ", WRONG, f"203.0.113.{i}")).status_code
        for i in range(1, 6)
    ]
    assert statuses == [400, 400, 429, 429, 429]  # the owner's first login counted too
    refused = await guess(client, "alice@example.com", PASSWORD, "203.0.113.99")
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    # The owner's known device is not counted against the account's budget.
    known = await guess(client, "alice@example.com", PASSWORD, "198.51.100.7", device_token=device)
    assert known.status_code == 200, known.text
    # An unknown email is throttled just the same: the answer says nothing of existence.
    unknown = [
        (await guess(client, "nobody@example.com", WRONG, f"192.0.2.{i}")).status_code
        for i in range(1, 6)
    ]
    assert unknown == [400, 400, 400, 429, 429]


async def test_password_changes_are_throttled_per_account(make_client: Any) -> None:
    client = await make_client(rate_limit_enabled=True, rate_limit_change_password_per_hour=2)
    await register(client)
    tokens = await login(client)
    body = {"current_password": WRONG, "new_password": "another strong passphrase 42"}
    statuses = [
        (await client.post("/change-password", json=body, headers=bearer(tokens))).status_code
        for _ in range(3)
    ]
    assert statuses == [400, 400, 429]


async def test_a_full_hash_queue_sheds_at_once(make_client: Any) -> None:
    client: AppClient = await make_client(hash_concurrency=1, hash_queue_limit=1)
    await register(client)
    hasher: PasswordHasher = client.services.hashing.hasher
    real_verify, release = hasher.verify, threading.Event()
    started = threading.Semaphore(0)

    def held_verify(password: str, stored: str) -> bool:
        started.release()
        release.wait(timeout=30)
        return real_verify(password, stored)

    hasher.verify = held_verify  # type: ignore[method-assign]
    answers: list[httpx.Response] = []

    async def login_in_background() -> None:
        answers.append(
            await client.post(
                "/token",
                data={"grant_type": "password", "username": "alice@example.com",
                      "password": PASSWORD},
            )
        )  # fmt: skip

    async with anyio.create_task_group() as tg:
        tg.start_soon(login_in_background)  # takes the only hash slot
        await anyio.to_thread.run_sync(started.acquire)
        tg.start_soon(login_in_background)  # waits in the queue (its one place)
        await anyio.sleep(0.05)
        shed = await client.post(
            "/token",
            data={"grant_type": "password", "username": "alice@example.com", "password": PASSWORD},
        )
        registered = await client.post(
            "/register", json={"email": "bob@example.com", "password": PASSWORD}
        )
        held = not release.is_set()
        release.set()
    assert held  # both refusals came while the first hash was still held
    for r in (shed, registered):
        assert r.status_code == 503
        assert r.json()["error"] == "temporarily_unavailable"
        assert r.headers["retry-after"] == "1"
    assert shed.headers["cache-control"] == "no-store"
    assert [r.status_code for r in answers] == [200, 200]  # the accepted ones completed


async def waiting_on_a_lock(engine: AsyncEngine) -> None:
    """Until some backend's UPDATE of user_sessions waits for a row lock (bounded)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query LIKE 'UPDATE user_sessions%'"
    )
    with anyio.fail_after(30):
        while True:
            async with engine.connect() as conn:
                if await conn.scalar(query):
                    return
            await anyio.sleep(0.01)


@pytest.mark.postgres
async def test_a_logout_committed_just_before_a_grace_replay_wins(
    client: AppClient, engine: AsyncEngine
) -> None:
    await register(client)
    rt0 = (await login(client))["refresh_token"]
    rotated = await refresh_grant(client, rt0)
    session_id = client.services.access_tokens.check(rotated.json()["access_token"]).sid
    # Another request's logout holds the row, uncommitted, while the replay is under way.
    async with engine.connect() as other:
        await other.execute(
            text("UPDATE user_sessions SET revoked_at = now() WHERE id = :id"),
            {"id": session_id},
        )
        replay: list[httpx.Response] = []

        async def replay_predecessor() -> None:
            replay.append(await refresh_grant(client, rt0))

        async with anyio.create_task_group() as tg:
            tg.start_soon(replay_predecessor)
            await waiting_on_a_lock(engine)  # the replay read the row and now waits on it
            await other.commit()  # the logout commits first
    assert replay[0].status_code == 400
    assert replay[0].json()["error"] == "invalid_grant"
