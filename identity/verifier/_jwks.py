"""The JWKS cache: fresh for the endpoint's `max-age`, one shared fetch at a
time, one rate-limited refetch on an unknown `kid`, stale keys for a bounded time while
the identity service is unreachable.

The hot path (a fresh set that knows the kid) is a dict lookup; the clock, the async
fetch and the sync fetch are the only ways in for time and I/O.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from identity.verifier._fetch import Fetcher, JWKSResponse
from identity.verifier._keys import KeyEntry, MalformedJWKS, parse_jwks
from identity.verifier.errors import InvalidToken, InvalidTokenReason, JWKSUnavailable

logger = logging.getLogger("identity.verifier")

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How long key sets live. Durations in seconds."""

    default_ttl: float = 300.0  # when the endpoint sends no max-age
    min_ttl: float = 10.0  # floor for max-age=0/no-cache, so a bad header can't make us hammer
    max_ttl: float = 86_400.0  # ceiling for absurd max-age values
    refetch_interval: float = 30.0  # at most one unknown-kid refetch per this interval
    retry_interval: float = 5.0  # after a failed fetch, wait this long before the next
    stale_ttl: float = 600.0  # serve known keys this long past expiry when fetches fail

    def __post_init__(self) -> None:
        if not 0 <= self.min_ttl <= self.default_ttl <= self.max_ttl:
            raise ValueError("cache TTLs must satisfy 0 <= min_ttl <= cache_ttl <= max_cache_ttl")
        if min(self.refetch_interval, self.retry_interval, self.stale_ttl) < 0:
            raise ValueError("refetch_interval, retry_interval and stale_ttl must be >= 0")


@dataclass(frozen=True, slots=True)
class _Snapshot:
    keys: dict[str, KeyEntry]
    expires_at: float
    etag: str | None


class JWKSCache:
    """Keys by kid. `get_key` (async) and `get_key_sync` share one state."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        allowed: frozenset[str],
        policy: CachePolicy,
        clock: Clock,
    ) -> None:
        self._fetcher = fetcher
        self._allowed = allowed
        self._policy = policy
        self._clock = clock
        self._snapshot: _Snapshot | None = None
        self._last_attempt = float("-inf")  # when the latest fetch started
        self._last_failed = False
        self._task: asyncio.Task[None] | None = None  # the one in-flight async fetch
        self._sync_lock = threading.Lock()
        self._generation = 0  # bumped after each completed fetch attempt

    # -- lookups ----------------------------------------------------------------------

    def cached(self, kid: str) -> KeyEntry | None:
        """The hot path: the key when the set is fresh and knows the kid, else None."""
        snapshot = self._snapshot
        if snapshot is not None and self._clock() < snapshot.expires_at:
            return snapshot.keys.get(kid)
        return None

    async def get_key(self, kid: str) -> KeyEntry:
        entry = self._answer_unless_fetching(kid)
        if entry is not None:
            return entry
        try:
            await self._fetch_shared()
        except JWKSUnavailable:
            return self._without_fetch(kid, self._clock())
        return self._after_fetch(kid)

    def get_key_sync(self, kid: str) -> KeyEntry:
        entry = self._answer_unless_fetching(kid)
        if entry is not None:
            return entry
        generation = self._generation
        try:
            with self._sync_lock:
                # Another thread fetched while we queued: use its result.
                if self._generation == generation:
                    self._run_fetch_sync()
                elif self._last_failed:
                    raise JWKSUnavailable("the key set could not be fetched")
        except JWKSUnavailable:
            return self._without_fetch(kid, self._clock())
        return self._after_fetch(kid)

    # -- policy -----------------------------------------------------------------------

    def _answer_unless_fetching(self, kid: str) -> KeyEntry | None:
        """The key from what we hold, or None when the caller should fetch first.

        Raises what `_without_fetch` raises when no fetch is allowed and we cannot answer.
        """
        entry = self.cached(kid)
        if entry is not None:
            return entry
        now = self._clock()
        return None if self._should_fetch(now) else self._without_fetch(kid, now)

    def _should_fetch(self, now: float) -> bool:
        if self._task is not None and not self._task.done():
            return True  # joining a fetch already under way costs the server nothing
        snapshot = self._snapshot
        if snapshot is not None and now < snapshot.expires_at:
            # Fresh set, unknown kid: refetch, but not more than once per interval, or a
            # stream of forged kids would turn us into a flood against the server.
            return now - self._last_attempt >= self._policy.refetch_interval
        if self._last_failed:
            return now - self._last_attempt >= self._policy.retry_interval
        return True

    def _without_fetch(self, kid: str, now: float) -> KeyEntry:
        """Answer from what we hold when no fetch is allowed or the fetch failed."""
        snapshot = self._snapshot
        if snapshot is None:
            raise JWKSUnavailable("the identity service's key set is not available")
        fresh = now < snapshot.expires_at
        entry = snapshot.keys.get(kid)
        if fresh and entry is None and not self._last_failed:
            raise InvalidToken(InvalidTokenReason.UNKNOWN_KEY, "the token's signing key is unknown")
        if entry is not None and now < snapshot.expires_at + self._policy.stale_ttl:
            return entry  # stale but within the window: the service is down, not the key
        raise JWKSUnavailable("the identity service's key set is not available")

    def _after_fetch(self, kid: str) -> KeyEntry:
        snapshot = self._snapshot
        entry = snapshot.keys.get(kid) if snapshot is not None else None
        if entry is None:
            raise InvalidToken(InvalidTokenReason.UNKNOWN_KEY, "the token's signing key is unknown")
        return entry

    # -- fetching ---------------------------------------------------------------------

    async def _fetch_shared(self) -> None:
        """Run one fetch and let every concurrent caller wait on that same fetch."""
        loop = asyncio.get_running_loop()
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            task = loop.create_task(self._run_fetch())
            task.add_done_callback(_retrieve_exception)
            self._task = task
        # A cancelled caller must not cancel the fetch the others are waiting for.
        await asyncio.shield(task)

    async def _run_fetch(self) -> None:
        self._begin_attempt()
        try:
            response = await self._fetcher.fetch(self._etag())
        except JWKSUnavailable as exc:
            self._record_failure(exc)
            raise
        self._store(response)

    def _run_fetch_sync(self) -> None:
        self._begin_attempt()
        try:
            response = self._fetcher.fetch_sync(self._etag())
        except JWKSUnavailable as exc:
            self._record_failure(exc)
            raise
        self._store(response)

    def _begin_attempt(self) -> None:
        self._last_attempt = self._clock()

    def _etag(self) -> str | None:
        return self._snapshot.etag if self._snapshot is not None else None

    def _store(self, response: JWKSResponse) -> None:
        try:
            if response.body is None:  # 304: the keys we hold are still the current set
                if self._snapshot is None:
                    raise MalformedJWKS("304 Not Modified without a cached key set")
                keys = self._snapshot.keys
            else:
                keys = parse_jwks(response.body, self._allowed)
        except MalformedJWKS as exc:
            error = JWKSUnavailable(f"the key set is malformed: {exc}")
            self._record_failure(error)
            raise error from exc
        policy = self._policy
        ttl = policy.default_ttl if response.max_age is None else response.max_age
        ttl = min(max(ttl, policy.min_ttl), policy.max_ttl)
        self._snapshot = _Snapshot(keys, self._last_attempt + ttl, response.etag)
        self._last_failed = False
        self._generation += 1

    def _record_failure(self, exc: JWKSUnavailable) -> None:
        logger.warning("jwks: fetch failed: %s", exc.description)
        self._last_failed = True
        self._generation += 1


def _retrieve_exception(task: asyncio.Task[None]) -> None:
    # Callers get the error through shield(); if all of them were cancelled, fetch it
    # here so asyncio does not log "exception was never retrieved".
    if not task.cancelled():
        task.exception()
