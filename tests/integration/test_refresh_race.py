"""Parallel refreshes with one token never yield two live branches.

Twenty requests race in one app on one connection pool, so the database arbitrates: on
PostgreSQL the losers of the compare-and-swap wait for the winner's commit and re-read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import bearer, events, login, refresh_grant, register, sessions_of

pytestmark = pytest.mark.postgres

RACERS = 20


async def race(client: httpx.AsyncClient, token: str) -> list[httpx.Response]:
    answers: list[httpx.Response] = []

    async def one() -> None:
        answers.append(await refresh_grant(client, token))

    async with anyio.create_task_group() as tg:
        for _ in range(RACERS):
            tg.start_soon(one)
    assert len(answers) == RACERS
    return answers


async def test_parallel_refreshes_share_one_successor(
    make_client: Callable[..., Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client()
    user = await register(client)
    rt0 = (await login(client))["refresh_token"]

    answers = await race(client, rt0)
    assert all(r.status_code in (200, 400) for r in answers), [r.status_code for r in answers]
    ok = [r.json() for r in answers if r.status_code == 200]
    assert all(r.json()["error"] == "invalid_grant" for r in answers if r.status_code == 400)
    assert ok, "at least the winner succeeds"
    successors = {body["refresh_token"] for body in ok}
    assert len(successors) == 1  # every 200 carries the same successor

    (row,) = await sessions_of(sessionmaker, user["id"])
    if len(ok) == RACERS:
        assert (row.refresh_generation, row.revoked_at) == (1, None)
        refreshed = await events(sessionmaker, "token_refreshed")
        assert [e.data for e in refreshed if not e.data.get("replay")] == [{"generation": 1}]
        assert len(refreshed) == RACERS  # every loser's grace replay is on the record too
    # Exactly one live chain: the successor works, and rotates on.
    (successor,) = successors
    if row.revoked_at is None:
        nxt = await refresh_grant(client, successor)
        assert nxt.status_code == 200, nxt.text
        assert (await client.get("/me", headers=bearer(nxt.json()))).status_code == 200


async def test_parallel_refreshes_without_grace_succeed_at_most_once(
    make_client: Callable[..., Any], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = await make_client(refresh_reuse_grace=0)
    user = await register(client)
    rt0 = (await login(client))["refresh_token"]

    answers = await race(client, rt0)
    assert all(r.status_code in (200, 400) for r in answers), [r.status_code for r in answers]
    winners = [r.json() for r in answers if r.status_code == 200]
    assert len(winners) <= 1
    assert all(r.json()["error"] == "invalid_grant" for r in answers if r.status_code == 400)
    (row,) = await sessions_of(sessionmaker, user["id"])
    # With no grace, the losers are replays of a superseded token: the session ends.
    assert row.refresh_generation <= 1
    if len(winners) == 1 and row.revoked_at is not None:
        r = await refresh_grant(client, winners[0]["refresh_token"])
        assert r.status_code == 400
    assert len(await events(sessionmaker, "refresh_token_reused")) <= 1
