"""Throttling with `limits` (moving window, in memory here; Redis in the integration tests):
burst, refusal with Retry-After, per-key and per-rule isolation, degrading open."""

from __future__ import annotations

import anyio
import pytest
from limits.aio.storage import MemoryStorage
from limits.errors import StorageError

from identity.errors import RateLimited
from identity.metrics import Metrics
from identity.services.throttle import Rate, Rule, Throttle, exact_key, ip_key


def throttle(**rules: Rate) -> Throttle:
    return Throttle({name: Rule(rate, key=ip_key) for name, rate in rules.items()})


async def test_burst_then_refusal_with_retry_after() -> None:
    limiter = throttle(token=Rate(limit=5, period=60))
    for _ in range(5):
        await limiter.hit("token", "203.0.113.7")
    with pytest.raises(RateLimited) as refused:
        await limiter.hit("token", "203.0.113.7")
    # The oldest of the five leaves the window a minute after it was counted.
    assert 1 <= refused.value.retry_after <= 60
    # Refusals are not counted and do not extend the wait.
    with pytest.raises(RateLimited) as again:
        await limiter.hit("token", "203.0.113.7")
    assert again.value.retry_after <= refused.value.retry_after


async def test_a_slot_frees_once_its_period_has_passed() -> None:
    limiter = throttle(r=Rate(limit=1, period=1))
    await limiter.hit("r", "203.0.113.7")
    with pytest.raises(RateLimited):
        await limiter.hit("r", "203.0.113.7")
    await anyio.sleep(1.1)  # waiting out the period; no assertion on how long anything took
    await limiter.hit("r", "203.0.113.7")


async def test_keys_and_rules_are_independent() -> None:
    limiter = throttle(a=Rate(1, 60), b=Rate(1, 60))
    await limiter.hit("a", "203.0.113.7")
    await limiter.hit("a", "203.0.113.8")
    await limiter.hit("b", "203.0.113.7")
    with pytest.raises(RateLimited):
        await limiter.hit("a", "203.0.113.7")


async def test_ipv6_is_keyed_by_its_64() -> None:
    assert ip_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert ip_key(None) == "unknown"
    limiter = throttle(a=Rate(1, 60))
    await limiter.hit("a", "2001:db8:1:2::1")
    with pytest.raises(RateLimited):
        await limiter.hit("a", "2001:db8:1:2::ffff")
    await limiter.hit("a", "2001:db8:1:3::1")


async def test_rules_with_caller_normalised_keys() -> None:
    # What a per-account rule looks like: the key is the normalised email, as given.
    limiter = Throttle({"token-account": Rule(Rate(1, 60), key=exact_key)})
    await limiter.hit("token-account", "alice@example.com")
    await limiter.hit("token-account", "bob@example.com")
    with pytest.raises(RateLimited):
        await limiter.hit("token-account", "alice@example.com")


async def test_disabled_never_refuses() -> None:
    limiter = Throttle({"a": Rule(Rate(1, 60))}, enabled=False)
    for _ in range(10):
        await limiter.hit("a", "203.0.113.7")


async def test_keys_are_hashed_before_storage() -> None:
    storage = MemoryStorage()
    limiter = Throttle({"a": Rule(Rate(3, 60), key=ip_key)}, storage=storage)
    await limiter.hit("a", "203.0.113.7")
    assert storage.events
    assert not any("203.0.113.7" in key for key in storage.events)


class BrokenStorage(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        self.calls += 1
        raise StorageError(ConnectionRefusedError("redis is down"))


async def test_storage_failure_degrades_open_counts_and_backs_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    metrics, storage = Metrics(), BrokenStorage()
    limiter = Throttle(
        {"a": Rule(Rate(1, 60))},
        storage=storage,
        metrics=metrics,
        retry_interval=5,
        monotonic=lambda: now[0],
    )
    for _ in range(3):
        await limiter.hit("a", "203.0.113.7")  # allowed although over the limit
    assert storage.calls == 1  # then left alone for the retry interval
    now[0] += 6
    await limiter.hit("a", "203.0.113.7")
    assert storage.calls == 2
    value = metrics.registry.get_sample_value("identity_throttle_degraded_total", {"rule": "a"})
    assert value == 4
    warnings = [r for r in caplog.records if r.name == "identity.throttle"]
    assert len(warnings) == 1  # at most one a minute, not one per request
    assert "ConnectionRefusedError" in warnings[0].getMessage()
