"""Per-client-IP throttling of `/token` and `/register`: `RateLimited` (429, Retry-After).

GCRA (a token bucket kept as one timestamp per key): `limit` requests may arrive at once,
then one per `period / limit`. State lives in this process's memory, so with W workers
and I instances a client that is spread over all of them gets up to W x I times the
configured rate; lockout (counted in the database) stays exact regardless. IPv6 clients
are keyed by their /64, since one host usually owns a whole /64.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from identity.errors import RateLimited

# Enough for a large flood of distinct addresses, small enough (~100 bytes each) to not
# matter; when full, the least recently seen key is forgotten first.
MAX_KEYS = 100_000
_EPSILON = 1e-6


@dataclass(frozen=True)
class Rate:
    limit: int
    period: float  # seconds

    @property
    def interval(self) -> float:
        return self.period / self.limit


def throttle_key(ip: str | None) -> str:
    if ip is None:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RateLimiter:
    """Synchronous on purpose: one event loop per process, so a check is atomic."""

    def __init__(
        self,
        rates: Mapping[str, Rate],
        *,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.rates = dict(rates)
        self.enabled = enabled
        self.clock = clock
        self.max_keys = max_keys
        # (rule, key) -> theoretical arrival time of the next request at the steady rate.
        self._tat: OrderedDict[tuple[str, str], float] = OrderedDict()

    def hit(self, rule: str, ip: str | None) -> None:
        """Count one request from `ip` against `rule`.

        Raises:
            RateLimited: over the rate; carries Retry-After in whole seconds.
        """
        if not self.enabled:
            return
        rate = self.rates[rule]
        now = self.clock()
        slot = (rule, throttle_key(ip))
        tat = max(self._tat.get(slot, now), now) + rate.interval
        # Compare the backlog with the burst allowance, with a tolerance: (now + period) - now
        # is not exactly `period` in floating point, which refused first requests at limit 1.
        backlog = tat - now
        if backlog > rate.period + _EPSILON:
            raise RateLimited(math.ceil(backlog - rate.period))
        self._tat[slot] = tat
        self._tat.move_to_end(slot)
        self._forget(now)

    def _forget(self, now: float) -> None:
        # A key whose bucket has refilled is the same as an absent key: dropping it is free.
        while self._tat:
            slot, tat = next(iter(self._tat.items()))
            if tat > now and len(self._tat) <= self.max_keys:
                break
            del self._tat[slot]

    def __len__(self) -> int:
        return len(self._tat)
