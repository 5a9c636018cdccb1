"""Throttling shared through Redis (real Redis on 127.0.0.1:6379): two app instances share
one per-IP budget; with Redis unreachable, logins still work and the metric says so."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.factories import PASSWORD, password_grant, register

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_listening() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own, so parallel runs never share a budget; its keys are
    deleted afterwards."""
    if not _redis_listening():
        if os.environ.get("CI"):
            pytest.fail("CI must provide Redis on 127.0.0.1:6379 (.ci/run starts one)")
        pytest.skip("no Redis on 127.0.0.1:6379 (.ci/run starts one: redis-server)")
    prefix = f"identity-test-{uuid.uuid4().hex}"
    yield prefix
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def test_two_instances_share_one_budget(
    make_client: Callable[..., Any], redis_prefix: str
) -> None:
    settings = {
        "rate_limit_enabled": True,
        "rate_limit_token_per_minute": 4,
        "redis_url": REDIS_URL,
        "redis_key_prefix": redis_prefix,
    }
    one = await make_client(**settings)
    two = await make_client(**settings)
    await register(one)
    statuses = [(await password_grant((one, two)[i % 2])).status_code for i in range(10)]
    accepted = [s for s in statuses if s != 429]
    assert accepted == [200] * 4, statuses  # the configured rate in total, not twice it
    assert statuses[4:] == [429] * 6
    # Both instances refuse: the budget is the same one.
    assert (await password_grant(one)).status_code == 429
    assert (await password_grant(two)).status_code == 429


async def test_redis_down_degrades_open(make_client: Callable[..., Any], redis_prefix: str) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    client = await make_client(
        rate_limit_enabled=True,
        rate_limit_token_per_minute=1,
        redis_url=f"redis://127.0.0.1:{closed_port}/0",
        redis_key_prefix=redis_prefix,
    )
    await register(client)
    for _ in range(3):  # over the limit of 1, yet allowed: Redis cannot count them
        assert (await password_grant(client, password=PASSWORD)).status_code == 200
    degraded = client.services.metrics.registry.get_sample_value(
        "identity_throttle_degraded_total", {"rule": "token"}
    )
    assert degraded == 3
    scraped = (await client.get("/metrics")).text
    assert 'identity_throttle_degraded_total{rule="token"} 3.0' in scraped
