"""The load generator: closed-loop clients (each sends its next request when the last one is
answered) for throughput, and paced clients (a fixed schedule) for latency under load.

Every answer goes through the scenario's `Step`, which raises `CheckFailed` when the status
or body is not what a correct server returns; that, a connection failure and a timeout all
count as errors, never as requests. Runs are bounded by time and by a request count.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.http import Connection, ProtocolError, Response

ERROR_SAMPLES = 5
REQUEST_TIMEOUT_S = 30.0


class CheckFailed(Exception):
    """The server answered, but not what a correct server answers."""


# One request of client `i` on its connection; raises CheckFailed on a wrong answer.
Step = Callable[[int, Connection], Awaitable[None]]


def expect(response: Response, status: int, *keys: str) -> Any:
    """The JSON body (None for a bodiless status) if the status is `status` and every key is
    present with a non-empty value; else CheckFailed naming what was wrong."""
    if response.status != status:
        raise CheckFailed(f"status {response.status} (wanted {status}): {response.body[:200]!r}")
    if not keys:
        return None
    try:
        body = response.json()
    except ValueError:
        raise CheckFailed(f"not JSON: {response.body[:200]!r}") from None
    missing = [k for k in keys if not isinstance(body, dict) or not body.get(k)]
    if missing:
        raise CheckFailed(f"missing {missing} in {response.body[:200]!r}")
    return body


@dataclass
class Tally:
    """What the clients saw: latencies of good answers, and the errors."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def error(self, exc: BaseException) -> None:
        self.errors += 1
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(f"{type(exc).__name__}: {exc}"[:300])


async def _timed(step: Step, i: int, conn: Connection, tally: Tally, started: float) -> None:
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            await step(i, conn)
    except (CheckFailed, ProtocolError, OSError, TimeoutError) as exc:
        await conn.close()
        tally.error(exc)
    else:
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)


@dataclass(frozen=True)
class Shape:
    """Who sends: `concurrency` closed-loop clients on `port`, at most `max_requests`."""

    port: int
    concurrency: int
    max_requests: int
    keep_alive: bool = False


async def closed_loop(step: Step, shape: Shape, seconds: float) -> Tally:
    """`shape.concurrency` clients back to back until `seconds` pass or `max_requests` are
    sent; requests in flight at the deadline are awaited and counted."""
    tally = Tally()
    issued = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def client(i: int) -> None:
        nonlocal issued
        conn = Connection(shape.port, keep_alive=shape.keep_alive)
        try:
            while issued < shape.max_requests and time.perf_counter() < deadline:
                issued += 1
                await _timed(step, i, conn, tally, time.perf_counter())
        finally:
            await conn.close()

    await asyncio.gather(*(client(i) for i in range(shape.concurrency)))
    tally.seconds = time.perf_counter() - start
    return tally


async def paced(
    step: Step,
    *,
    port: int,
    clients: int,
    rate_per_client: float,
    seconds: float,
    keep_alive: bool = False,
) -> Tally:
    """Each client sends on a fixed schedule of `rate_per_client` requests/s; a latency runs
    from the *scheduled* send time, so a stalled server cannot hide its stall by delaying the
    next request (coordinated omission)."""
    tally = Tally()
    interval = 1 / rate_per_client
    start = time.perf_counter()
    deadline = start + seconds

    async def client(i: int) -> None:
        conn = Connection(port, keep_alive=keep_alive)
        # Spread the clients over one interval so they do not all fire together.
        scheduled = start + interval * i / clients
        try:
            while scheduled < deadline:
                await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
                await _timed(step, i, conn, tally, scheduled)
                scheduled += interval
        finally:
            await conn.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    tally.seconds = time.perf_counter() - start
    return tally
