"""Every refused login waits until the same refusal floor, whatever the account and its
hash; the floor covers every hash profile live accounts have. No timing is measured here:
the service's clock and sleep are observed (bench/timing.py measures the real thing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import argon2
import bcrypt
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.crypto.passwords import hash_profile
from identity.db.models import User
from identity.services import login_timing
from tests.factories import PASSWORD, insert_user, login, password_grant, register
from tests.integration.conftest import AppClient

OUTDATED = argon2.PasswordHasher(time_cost=2, memory_cost=128, parallelism=2)


async def accounts(sm: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """One account per refusal class; returns email -> the stored hash."""
    legacy = {
        "bcrypt@example.com": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode(),
        "outdated@example.com": OUTDATED.hash(PASSWORD),
    }
    for email, stored in legacy.items():
        await insert_user(sm, email=email, password_hash=stored)
    gone = bcrypt.hashpw(b"x", bcrypt.gensalt(5)).decode()
    await insert_user(
        sm, email="gone@example.com", password_hash=gone, deleted_at=datetime.now(UTC)
    )
    return legacy


async def test_the_floor_covers_every_profile_of_a_live_account(
    make_client: Callable[..., Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    legacy = await accounts(sessionmaker)
    client: AppClient = await make_client()  # start-up calibrates from the accounts
    refusals = client.services.hashing.refusals
    current = hash_profile(client.services.hashing.hasher.dummy_hash)
    expected = {current, *(hash_profile(h) for h in legacy.values())}
    assert set(refusals.costs) == expected  # not the deleted account's $2b$05$
    assert all(p.startswith("$") and p.endswith("$") and len(p) < 48 for p in refusals.costs)
    assert refusals.floor >= refusals.MARGIN * max(refusals.costs.values())


async def test_a_profile_first_met_at_login_is_calibrated_then(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    stored = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(6)).decode()
    await insert_user(sessionmaker, email="imported@example.com", password_hash=stored)
    assert hash_profile(stored) not in client.services.hashing.refusals.costs
    assert (await password_grant(client, "imported@example.com", "wrong")).status_code == 400
    assert hash_profile(stored) in client.services.hashing.refusals.costs


async def test_a_profile_beyond_the_caps_is_not_calibrated(
    make_client: Callable[..., Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # A bcrypt cost of 20 would take a minute per verification: never padded to.
    absurd = "$2b$20$" + "a" * 53
    await insert_user(sessionmaker, email="absurd@example.com", password_hash=absurd)
    client: AppClient = await make_client()
    assert client.services.hashing.refusals.costs["$2b$20$"] == 0.0


async def test_every_refusal_waits_for_the_same_floor(
    make_client: Callable[..., Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await accounts(sessionmaker)
    client: AppClient = await make_client(lockout_threshold=100)
    await register(client, "current@example.com")
    await register(client, "locked@example.com")
    await register(client, "disabled@example.com")
    async with sessionmaker() as s:
        now = datetime.now(UTC)
        await s.execute(
            update(User).where(User.email == "locked@example.com").values(locked_at=now)
        )
        await s.execute(
            update(User).where(User.email == "disabled@example.com").values(is_active=False)
        )
        await s.commit()

    ticks = iter(range(10_000))
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    # Every reading of the clock is 10 ms after the previous one: each attempt "took" 10 ms.
    monkeypatch.setattr(login_timing, "current_time", lambda: next(ticks) / 100)
    monkeypatch.setattr(login_timing, "sleep", record)
    floor = client.services.hashing.refusals.floor
    refusals = [
        ("nobody@example.com", PASSWORD),
        ("current@example.com", "wrong password"),
        ("locked@example.com", PASSWORD),  # the right password, and still refused alike
        ("disabled@example.com", PASSWORD),
        ("bcrypt@example.com", "wrong password"),
        ("outdated@example.com", "wrong password"),
    ]
    for email, password in refusals:
        r = await password_grant(client, email, password)
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_grant"
    assert waits == [pytest.approx(floor - 0.01)] * len(refusals)

    waits.clear()
    await login(client, "current@example.com")
    await login(client, "bcrypt@example.com")  # verified, then upgraded: no padding
    assert waits == []
