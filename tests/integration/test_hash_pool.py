"""The hash pool: hashing runs off the event loop, at most `hash_concurrency` at
a time, and holds no database connection or lock, so a login flood does not starve /me or
refresh."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import anyio

from identity.crypto.passwords import PasswordHasher
from tests.factories import PASSWORD, bearer, login, password_grant, refresh_grant, register
from tests.integration.conftest import AppClient

HASH_SECONDS = 1.0


async def test_login_flood_is_bounded_and_does_not_starve_other_requests(
    make_client: Callable[..., Any],
) -> None:
    client: AppClient = await make_client(hash_concurrency=2)
    await register(client)
    tokens = await login(client)

    hasher: PasswordHasher = client.services.hashing.hasher
    real_verify = hasher.verify
    guard = threading.Lock()
    in_flight, peak, finished = 0, 0, 0

    def slow_verify(password: str, stored: str) -> bool:
        nonlocal in_flight, peak, finished
        with guard:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            time.sleep(HASH_SECONDS)  # a production-cost hash, made obvious
            return real_verify(password, stored)
        finally:
            with guard:
                in_flight -= 1
                finished += 1

    hasher.verify = slow_verify  # type: ignore[method-assign]
    statuses: list[int] = []

    async def flood_one() -> None:
        statuses.append((await password_grant(client, "alice@example.com", PASSWORD)).status_code)

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(flood_one)
        await anyio.sleep(0.1)  # the pool is busy and two logins wait for it
        me = await client.get("/me", headers=bearer(tokens))
        refreshed = await refresh_grant(client, tokens["refresh_token"])
        # Both answered while the first hashes were still running: neither waited for one.
        with guard:
            finished_before_answers = finished

    assert (me.status_code, refreshed.status_code) == (200, 200)
    assert finished_before_answers == 0
    assert statuses == [200] * 4
    assert peak == 2  # bounded by hash_concurrency
