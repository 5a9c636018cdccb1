"""Password work off the event loop: a bounded pool shared by every hash, verify and strength
check, so a login flood queues here instead of exhausting memory or starving the loop
(refresh, /me and JWKS never hash and keep answering). The queue in front of the pool is
bounded too: past it, the request is refused at once (load shedding) rather than waiting
for minutes behind everyone else's work.

The pool's threads are its own, at a lower CPU priority than the event loop (`NICENESS`):
argon2 releases the GIL, but a process whose hash threads are always runnable would
otherwise hand the loop only its fair share of the CPU among them, and every refresh or
/me, which needs the loop a dozen times, would queue behind the logins' hashes (the mixed
run in bench/PROFILE.md). Hashing keeps whatever CPU the loop does not use, so the login
rate stays what the cores allow.

It also keeps the *refusal floor* (docs/security.md, "Equal refusals"): the time every
refused login takes at least, so that an unknown, locked or disabled account and one with a
legacy (bcrypt, outdated argon2) hash cannot be told apart by how long the refusal took.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from identity.crypto.passwords import PasswordHasher, dummy_for_profile, hash_profile
from identity.errors import TemporarilyUnavailable
from identity.metrics import Metrics

T = TypeVar("T")
logger = logging.getLogger("identity.hashing")

# How much nicer than the event loop a hash thread runs (Linux: per thread; elsewhere the
# pool runs at the process's priority).
NICENESS = 10


def _lower_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: run as the process does
        logger.debug("hash thread priority unchanged", exc_info=True)


class RefusalFloor:
    """`floor` = MARGIN * the slowest verification among the hash profiles in use, measured
    on this machine at these parameters, + ALLOWANCE for the two short transactions around
    it. Only the profiles' costs are learnt, never which account has which."""

    MARGIN = 1.25  # a verification slower than its calibrated median by 25 % still fits
    ALLOWANCE = 0.05  # seconds: the lookup and the bookkeeping transactions of a refusal

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self.costs: dict[str, float] = {}  # profile -> median seconds per verification

    @property
    def floor(self) -> float:
        return self.MARGIN * max(self.costs.values(), default=0.0) + self.ALLOWANCE

    def knows(self, stored: str) -> bool:
        profile = hash_profile(stored)
        return profile is None or profile in self.costs

    def calibrate(self, stored: str) -> None:
        """Measure (synchronously, in the pool) verifying a hash of `stored`'s profile."""
        profile = hash_profile(stored)
        if profile is None or profile in self.costs:
            return
        dummy = (
            self.hasher.dummy_hash
            if profile == hash_profile(self.hasher.dummy_hash)
            else (dummy_for_profile(profile))
        )
        if dummy is None:
            logger.warning(
                "password hash profile beyond the calibration caps", extra={"profile": profile}
            )
            self.costs[profile] = 0.0
            return
        samples: list[float] = []
        for _ in range(5):  # the median of 5, or of 3 when a profile takes seconds
            start = time.perf_counter()
            self.hasher.verify("not the password", dummy)
            samples.append(time.perf_counter() - start)
            if len(samples) == 3 and sum(samples) >= 1.0:
                break
        self.costs[profile] = statistics.median(samples)
        logger.info(
            "password hash profile calibrated",
            extra={"profile": profile, "verify_ms": round(1000 * self.costs[profile], 1)},
        )


class PasswordHashing:
    def __init__(
        self,
        hasher: PasswordHasher,
        concurrency: int,
        *,
        queue_limit: int,
        metrics: Metrics | None = None,
    ) -> None:
        self.hasher = hasher
        self._seconds = (metrics or Metrics()).password_hash_seconds
        self.concurrency = concurrency
        self.executor = ThreadPoolExecutor(
            concurrency, thread_name_prefix="hash", initializer=_lower_priority
        )
        # Running plus waiting; one event loop per process, so plain counting is atomic.
        self.capacity = concurrency + queue_limit
        self.in_flight = 0
        self.refusals = RefusalFloor(hasher)

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """Run CPU-heavy password work in the pool (at most `concurrency` at once).

        Raises:
            TemporarilyUnavailable: the pool and its queue are full; nothing was started.
        """
        if self.in_flight >= self.capacity:
            raise TemporarilyUnavailable(retry_after=1)
        self.in_flight += 1
        try:
            work = asyncio.get_running_loop().run_in_executor(
                self.executor, functools.partial(func, *args)
            )
            try:
                return await asyncio.shield(work)
            except asyncio.CancelledError:
                # The work cannot be stopped: its slot stays taken until it ends.
                await asyncio.wait([work])
                raise
        finally:
            self.in_flight -= 1

    def queue_depth(self) -> int:
        """Password work waiting for a slot (admitted, not yet running): the pool runs
        `concurrency` at once, the rest wait in its queue."""
        return max(0, self.in_flight - self.concurrency)

    def _timed(self, operation: str, func: Callable[..., T]) -> Callable[..., T]:
        """`func`, observed in the pool's thread: the work itself, not the wait for a slot."""
        histogram = self._seconds[operation]

        def timed(*args: object) -> T:
            start = time.perf_counter()
            try:
                return func(*args)
            finally:
                histogram.observe(time.perf_counter() - start)

        return timed

    def close(self) -> None:
        """Let the pool's threads end once their work is done (the app's shutdown)."""
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def hash(self, password: str) -> str:
        return await self.run(self._timed("hash", self.hasher.hash), password)

    async def verify(self, password: str, stored: str) -> bool:
        return await self.run(self._timed("verify", self.hasher.verify), password, stored)

    async def verify_and_update(self, password: str, stored: str) -> tuple[bool, str | None]:
        verify = self._timed("verify", self.hasher.verify_and_update)
        return await self.run(verify, password, stored)

    async def verify_dummy(self, password: str) -> None:
        await self.run(self._timed("verify", self.hasher.verify_dummy), password)

    async def calibrate_for(self, stored: str) -> None:
        """Learn the cost of `stored`'s profile if it is new (a row imported since start-up)."""
        if not self.refusals.knows(stored):
            await self.run(self.refusals.calibrate, stored)

    async def warm_up(self) -> None:
        """Compute the dummy hash and the floor for current hashes now, not in a login."""
        await self.run(lambda: self.refusals.calibrate(self.hasher.dummy_hash))
