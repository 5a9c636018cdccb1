"""GCRA throttling: burst, steady rate, Retry-After, per-key isolation, bounded memory."""

from __future__ import annotations

import random

import pytest

from identity.errors import RateLimited
from identity.services.throttle import Rate, RateLimiter, throttle_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_burst_then_refusal_with_retry_after(clock: Clock) -> None:
    limiter = RateLimiter({"token": Rate(limit=5, period=60)}, clock=clock)
    for _ in range(5):
        limiter.hit("token", "203.0.113.7")
    with pytest.raises(RateLimited) as refused:
        limiter.hit("token", "203.0.113.7")
    assert refused.value.retry_after == 12  # one slot per 60/5 s
    # Refusals are not counted: after the advertised wait, one more passes.
    clock.now += 12
    limiter.hit("token", "203.0.113.7")
    with pytest.raises(RateLimited):
        limiter.hit("token", "203.0.113.7")


def test_steady_rate_is_sustained(clock: Clock) -> None:
    limiter = RateLimiter({"r": Rate(limit=2, period=10)}, clock=clock)
    for _ in range(20):
        limiter.hit("r", "203.0.113.7")
        clock.now += 5


def test_keys_and_rules_are_independent(clock: Clock) -> None:
    limiter = RateLimiter({"a": Rate(1, 60), "b": Rate(1, 60)}, clock=clock)
    limiter.hit("a", "203.0.113.7")
    limiter.hit("a", "203.0.113.8")
    limiter.hit("b", "203.0.113.7")
    with pytest.raises(RateLimited):
        limiter.hit("a", "203.0.113.7")


def test_ipv6_is_keyed_by_its_64(clock: Clock) -> None:
    assert throttle_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert throttle_key(None) == "unknown"
    limiter = RateLimiter({"a": Rate(1, 60)}, clock=clock)
    limiter.hit("a", "2001:db8:1:2::1")
    with pytest.raises(RateLimited):
        limiter.hit("a", "2001:db8:1:2::ffff")
    limiter.hit("a", "2001:db8:1:3::1")


def test_disabled_never_refuses(clock: Clock) -> None:
    limiter = RateLimiter({"a": Rate(1, 60)}, enabled=False, clock=clock)
    for _ in range(10):
        limiter.hit("a", "203.0.113.7")
    assert len(limiter) == 0


def test_memory_is_bounded_and_refilled_keys_are_dropped(clock: Clock) -> None:
    limiter = RateLimiter({"a": Rate(10, 60)}, clock=clock, max_keys=100)
    for i in range(1000):
        limiter.hit("a", f"198.51.{i // 256}.{i % 256}")
    assert len(limiter) <= 100
    clock.now += 61
    limiter.hit("a", "203.0.113.7")
    assert len(limiter) == 1


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_first_requests_are_never_refused_whatever_the_clock(limit: int) -> None:
    rng = random.Random(1234)
    for _ in range(2000):
        start = rng.uniform(0, 1e9)
        limiter = RateLimiter({"r": Rate(limit, 60.0)}, clock=lambda start=start: start)
        for _ in range(limit):
            limiter.hit("r", "198.51.100.1")
        with pytest.raises(RateLimited):
            limiter.hit("r", "198.51.100.1")
