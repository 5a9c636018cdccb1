"""CPU meters around one measured window: the server tree, PostgreSQL, the load generator."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench import procstat
from bench.database import PgCpu, PgSample
from bench.load import Tally
from bench.stats import Figures
from identity.services.hashing import NICENESS


@dataclass(frozen=True)
class Snapshot:
    server: dict[int, int]
    hash_threads: dict[int, int]  # the server's hash pool threads, by thread id
    pg: PgSample
    client_s: float


@dataclass
class Meters:
    """`server` is the root pid of the tree under test (None when nothing serves: the
    asyncpg baseline), `pg` the database's CPU sampler."""

    server: int | None
    pg: PgCpu

    async def sample(self, previous: Snapshot | None = None) -> Snapshot:
        server = procstat.tree_cpu(self.server) if self.server else {}
        hash_threads = procstat.threads_cpu(server, nice=NICENESS)
        pg = await self.pg.sample(previous.pg if previous else None)
        return Snapshot(server, hash_threads, pg, time.process_time())

    async def measure(self, name: str, run: Callable[[], Awaitable[Tally]]) -> Figures:
        """Run one window between two samples; the figures of what it cost each side."""
        before = await self.sample()
        tally = await run()
        after = await self.sample(before)
        return Figures(
            name=name,
            requests=len(tally.latencies_ms),
            errors=tally.errors,
            seconds=tally.seconds,
            latencies_ms=tally.latencies_ms,
            server_cpu_ms=(
                procstat.spent_ms(before.server, after.server) if self.server else math.nan
            ),
            hash_threads_cpu_ms=(
                procstat.spent_ms(before.hash_threads, after.hash_threads)
                if self.server
                else math.nan
            ),
            pg_cpu_ms=procstat.spent_ms(before.pg.backends, after.pg.backends),
            pg_cluster_cpu_ms=procstat.spent_ms(before.pg.cluster, after.pg.cluster),
            client_cpu_ms=(after.client_s - before.client_s) * 1000,
            error_samples=tally.error_samples,
        )
