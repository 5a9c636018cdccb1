"""Lockout: consecutive failures from unknown devices lock the account once (for unknown
devices, ending no session), only the unlock service lifts it, and counting is atomic under
parallel guesses. Known devices: tests/integration/test_device_lockout.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.services.origin import Origin
from identity.services.user_admin import unlock_user
from tests.factories import (
    OTHER_PASSWORD,
    PASSWORD,
    bearer,
    events,
    login,
    password_grant,
    refresh_grant,
    register,
    sessions_of,
    user_row,
)
from tests.integration.conftest import AppClient

WRONG = "definitely not the password"


async def unlock(client: AppClient, email: str) -> bool:
    _, unlocked = await unlock_user(
        client.services, email, actor_id=None, origin=Origin(), via="test"
    )
    return unlocked


async def test_threshold_locks_unknown_devices_out_and_keeps_the_sessions(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user = await register(client)
    tokens = await login(client)
    for i in range(4):
        r = await password_grant(client, "alice@example.com", WRONG)
        assert r.json()["error"] == "invalid_grant"
        assert (await user_row(sessionmaker, "alice@example.com")).failed_login_count == i + 1
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 200
    assert (await user_row(sessionmaker, "alice@example.com")).locked_at is None

    await password_grant(client, "alice@example.com", WRONG)  # the fifth
    row = await user_row(sessionmaker, "alice@example.com")
    assert row.locked_at is not None
    assert row.lock_reason == "too_many_failures"
    (locked,) = await events(sessionmaker, "account_locked")
    assert locked.data == {"kind": "account", "reason": "too_many_failures", "failed_count": 5}
    # Guessing is no evidence that a session is compromised: the sessions go on.
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 200
    assert (await refresh_grant(client, tokens["refresh_token"])).status_code == 200
    (session,) = await sessions_of(sessionmaker, user["id"])
    assert session.revoked_at is None

    # Locked: the right password gets exactly the wrong password's answer.
    right, wrong = (
        await password_grant(client, "alice@example.com", PASSWORD),
        await password_grant(client, "alice@example.com", WRONG),
    )
    assert right.status_code == wrong.status_code == 400
    assert right.json() == wrong.json()
    assert len(await events(sessionmaker, "account_locked")) == 1

    assert await unlock(client, "alice@example.com")
    assert not await unlock(client, "alice@example.com")  # nothing left to lift
    row = await user_row(sessionmaker, "alice@example.com")
    assert (row.locked_at, row.failed_login_count) == (None, 0)
    assert (await events(sessionmaker, "account_unlocked"))[0].data == {
        "via": "test",
        "account": True,
        "devices": 0,
    }
    await login(client)


async def test_threshold_is_configurable(
    make_client: Callable[..., Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(lockout_threshold=2)
    await register(client)
    await password_grant(client, "alice@example.com", WRONG)
    assert (await user_row(sessionmaker, "alice@example.com")).locked_at is None
    await password_grant(client, "alice@example.com", WRONG)
    assert (await user_row(sessionmaker, "alice@example.com")).locked_at is not None


async def test_wrong_current_password_counts_toward_lockout(
    make_client: Callable[..., Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(lockout_threshold=3)
    await register(client)
    tokens = await login(client)
    await password_grant(client, "alice@example.com", WRONG)
    for _ in range(2):
        r = await client.post(
            "/change-password",
            json={"current_password": WRONG, "new_password": OTHER_PASSWORD},
            headers=bearer(tokens),
        )
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_current_password"
    row = await user_row(sessionmaker, "alice@example.com")
    assert (row.failed_login_count, row.locked_at is not None) == (3, True)
    contexts = [e.data["context"] for e in await events(sessionmaker, "login_failed")]
    assert sorted(contexts) == ["change_password", "change_password", "login"]
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 200
    assert (await password_grant(client)).status_code == 400  # locked for unknown devices


@pytest.mark.parametrize("spelling", ["Alice@X", "alice@x", " alice@x "])
async def test_every_spelling_counts_toward_one_account(
    make_client: Callable[..., Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    spelling: str,
) -> None:
    client = await make_client(lockout_threshold=3)
    await register(client, "Alice@x")
    for typed in ("Alice@x", "alice@x", " alice@x "):
        await password_grant(client, typed, WRONG)
    assert (await user_row(sessionmaker, "alice@x")).locked_at is not None
    await unlock(client, "alice@x")
    await login(client, spelling)


@pytest.mark.postgres
async def test_parallel_guesses_lock_exactly_once(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client)
    threshold = 5
    answers: list[httpx.Response] = []

    async def guess() -> None:
        answers.append(await password_grant(client, "alice@example.com", WRONG))

    async with anyio.create_task_group() as tg:
        for _ in range(3 * threshold):
            tg.start_soon(guess)
    assert [r.status_code for r in answers] == [400] * 3 * threshold
    assert {r.json()["error"] for r in answers} == {"invalid_grant"}

    row = await user_row(sessionmaker, "alice@example.com")
    assert row.locked_at is not None
    assert len(await events(sessionmaker, "account_locked")) == 1  # locked once
    failed = await events(sessionmaker, "login_failed")
    assert len(failed) == 3 * threshold
    # No count was lost: every guess that saw the account unlocked was counted, in order.
    counted = sorted(e.data["failed_count"] for e in failed if "failed_count" in e.data)
    assert counted == list(range(1, len(counted) + 1))
    assert len(counted) >= threshold

    right = await password_grant(client, "alice@example.com", PASSWORD)
    wrong = await password_grant(client, "alice@example.com", WRONG)
    assert right.status_code == wrong.status_code == 400
    assert right.json() == wrong.json()

    assert await unlock(client, "alice@example.com")
    await login(client)
