"""Throttling: `await svc.throttle.hit(rule, key)` counts one request, or raises
`RateLimited` (429, Retry-After).

Counting is done by the `limits` package with its moving-window strategy: at most `limit`
requests in any `period` seconds per key; a burst of `limit` passes at once, and each slot
frees `period` seconds after it was used (Retry-After says when the oldest one does).
Refused requests are not counted. This is stricter than the token bucket it replaces,
which refilled one slot every `period / limit`: here no window of `period` ever holds more
than `limit` accepted requests.

Storage: in this process's memory by default (`make run`, one process); with
`IDENTITY_REDIS_URL`, in Redis, so every worker of every instance shares one budget.
If Redis fails, throttling degrades *open*: the request is allowed, a warning is logged
(at most once a minute), `identity_throttle_degraded_total` counts it, and Redis is not
asked again for `retry_interval` seconds, so an outage adds no latency. Lockout is
counted in the database and keeps working regardless.

A rule names its rate and how its key is normalised; keys reach the storage as an HMAC
under the service's secret, so Redis holds no address or email, nor an unkeyed hash of
one that a dictionary of all IPv4 addresses would reverse. Adding a rule (per account,
for /change-password) is one entry in `build_services`; nothing here changes.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from identity.errors import RateLimited
from identity.metrics import Metrics

logger = logging.getLogger("identity.throttle")

# How long Redis is left alone after a failure, and how often that failure is logged.
RETRY_INTERVAL = 5.0
WARNING_INTERVAL = 60.0
REDIS_TIMEOUT = 0.5  # seconds, connect and each command: the limiter must never stall login
_STORAGE_FAILURES = (StorageError, RedisError, OSError, TimeoutError)


def ip_key(ip: str | None) -> str:
    """A client address as a throttling key: IPv6 by its /64 (one host usually owns one)."""
    if ip is None:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def exact_key(value: str | None) -> str:
    """For keys the caller already normalised (an account's normalised email)."""
    return value or ""


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds


@dataclass(frozen=True)
class Rule:
    rate: Rate
    key: Callable[[str | None], str] = field(default=exact_key)


def redis_pool(url: str, *, timeout: float = REDIS_TIMEOUT) -> ConnectionPool:
    """Short timeouts and one immediate retry (a connection dropped by a Redis restart),
    never redis-py's default backoff: the limiter must fail fast and degrade open."""
    return ConnectionPool.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 1)
    )


class Throttle:
    def __init__(
        self,
        rules: Mapping[str, Rule],
        *,
        enabled: bool = True,
        storage: Storage | None = None,
        redis_url: str | None = None,
        redis_prefix: str = "identity",
        metrics: Metrics | None = None,
        retry_interval: float = RETRY_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
        key_secret: bytes = b"",
    ) -> None:
        self.rules = dict(rules)
        self.key_secret = key_secret
        self.enabled = enabled
        self._pool: ConnectionPool | None = None
        if redis_url:
            # `limits`' async Redis storage over redis-py, on a pool of our own.
            self._pool = redis_pool(redis_url)
            options: dict[str, Any] = {"connection_pool": self._pool}
            storage = RedisStorage(
                f"async+{redis_url}",
                implementation="redispy",
                wrap_exceptions=True,
                key_prefix=redis_prefix,
                **options,
            )
        self.storage = storage if storage is not None else MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.items = {
            name: RateLimitItemPerSecond(rule.rate.limit, rule.rate.period, namespace=name)
            for name, rule in self.rules.items()
        }
        metrics = metrics or Metrics()
        self.degraded = metrics.counter(
            "identity_throttle_degraded",
            "Requests allowed without being counted because the throttle storage failed.",
            ("rule",),
        )
        self.refusals = metrics.counter(
            "identity_throttle_refusals", "Requests refused as over a rate, by rule.", ("rule",)
        )
        self.retry_interval = retry_interval
        self.monotonic = monotonic
        self._skip_until = -math.inf
        self._last_warning = -math.inf

    async def hit(self, rule: str, key: str | None) -> None:
        """Count one request for `key` (normalised by the rule) against `rule`.

        Raises:
            RateLimited: over the rate; carries Retry-After in whole seconds.
        """
        if not self.enabled:
            return
        item = self.items[rule]
        normalised = self.rules[rule].key(key).encode()
        stored = hmac.new(self.key_secret, normalised, hashlib.sha256).hexdigest()[:32]
        if self.monotonic() < self._skip_until:
            self.degraded.labels(rule).inc()
            return
        try:
            if await self.limiter.hit(item, stored):
                return
            reset, _remaining = await self.limiter.get_window_stats(item, stored)
        except _STORAGE_FAILURES as exc:
            self._degrade(rule, exc)
            return
        self.refusals.labels(rule).inc()
        raise RateLimited(math.ceil(reset - time.time()))

    def _degrade(self, rule: str, exc: BaseException) -> None:
        now = self.monotonic()
        self._skip_until = now + self.retry_interval
        self.degraded.labels(rule).inc()
        if now - self._last_warning >= WARNING_INTERVAL:
            self._last_warning = now
            cause = getattr(exc, "storage_error", None) or exc  # limits wraps the driver's
            logger.warning(
                "throttle storage unavailable: allowing requests uncounted for %.0fs (%s)",
                self.retry_interval,
                type(cause).__name__,
            )

    async def close(self) -> None:
        """Release the storage's connections (the app's lifespan calls this on shutdown)."""
        if self._pool is not None:
            await self._pool.disconnect()
