"""Password work off the event loop: a bounded pool shared by every hash, verify and strength
check, so a login flood queues here instead of exhausting memory or starving the loop
(refresh, /me and JWKS never hash and keep answering). The queue in front of the pool is
bounded too: past it, the request is refused at once (load shedding) rather than waiting
for minutes behind everyone else's work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from identity.crypto.passwords import PasswordHasher
from identity.errors import TemporarilyUnavailable

T = TypeVar("T")


class PasswordHashing:
    def __init__(self, hasher: PasswordHasher, concurrency: int, *, queue_limit: int) -> None:
        self.hasher = hasher
        self.limiter = anyio.CapacityLimiter(concurrency)
        # Running plus waiting; one event loop per process, so plain counting is atomic.
        self.capacity = concurrency + queue_limit
        self.in_flight = 0

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """Run CPU-heavy password work in the pool (at most `concurrency` at once).

        Raises:
            TemporarilyUnavailable: the pool and its queue are full; nothing was started.
        """
        if self.in_flight >= self.capacity:
            raise TemporarilyUnavailable(retry_after=1)
        self.in_flight += 1
        try:
            return await anyio.to_thread.run_sync(func, *args, limiter=self.limiter)
        finally:
            self.in_flight -= 1

    async def hash(self, password: str) -> str:
        return await self.run(self.hasher.hash, password)

    async def verify(self, password: str, stored: str) -> bool:
        return await self.run(self.hasher.verify, password, stored)

    async def verify_and_update(self, password: str, stored: str) -> tuple[bool, str | None]:
        return await self.run(self.hasher.verify_and_update, password, stored)

    async def verify_dummy(self, password: str) -> None:
        await self.run(self.hasher.verify_dummy, password)

    async def warm_up(self) -> None:
        """Compute the dummy hash now rather than in the first unknown-account login."""
        await self.run(lambda: self.hasher.dummy_hash)
