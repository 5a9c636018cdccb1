"""The three baselines measured in the same run as the scenarios they put in perspective:

- bare argon2id verification at the service's hash concurrency (the login ceiling);
- a bare Starlette route on the same uvicorn stack (the per-request floor);
- a bare asyncpg primary-key SELECT round trip (the floor of one database read).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from bench.config import Config
from bench.http import Connection
from bench.load import Shape, Tally, closed_loop, expect
from bench.meters import Meters
from bench.server import bare_argv, free_port, running
from bench.stats import Figures
from identity.crypto.passwords import Argon2Parameters


def argon2_verify(params: Argon2Parameters, threads: int, seconds: float) -> Figures:
    """`threads` threads verifying back to back in a process of their own."""
    argv = [
        sys.executable, "-m", "bench.hash_baseline", "--threads", str(threads),
        "--seconds", str(seconds), "--memory-kib", str(params.memory_kib),
        "--time-cost", str(params.time_cost), "--parallelism", str(params.parallelism),
    ]  # fmt: skip
    out = json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)
    latencies = out["latencies_ms"]
    return Figures(
        name="bare argon2id verify",
        requests=len(latencies),
        errors=0,
        seconds=out["seconds"],
        latencies_ms=latencies,
        server_cpu_ms=out["cpu_ms"],
        notes=[
            f"{threads} threads (workers x hash concurrency), m={params.memory_kib} KiB "
            f"t={params.time_cost} p={params.parallelism}; CPU is the hashing process's"
        ],
    )


async def bare_starlette(cfg: Config, meters: Meters, log: Path) -> Figures:
    """GET /bare on the bare app, same clients and connection mode as the cheap scenarios."""
    port = free_port()

    async def step(i: int, conn: Connection) -> None:
        expect(await conn.request("GET", "/bare"), 200, "status")

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    async with running(
        bare_argv(port, cfg.workers), env=env, log=log, ready_path="/bare", port=port
    ) as server:
        bare_meters = Meters(server.pid, meters.pg)
        shape = Shape(port, cfg.concurrency, cfg.max_requests, cfg.keep_alive)
        await closed_loop(step, shape, cfg.warmup)
        figures = await bare_meters.measure(
            "bare Starlette route", lambda: closed_loop(step, shape, cfg.seconds)
        )
    figures.notes.append(f"{cfg.workers} uvicorn workers, no middleware, no database")
    return figures


async def asyncpg_select(dsn: str, meters: Meters, seconds: float, max_queries: int) -> Figures:
    """One connection, one prepared `SELECT * FROM users WHERE id = $1` after another.
    `client_cpu_ms` is the caller's CPU (what the service would spend), `pg_cpu_ms` the
    backend's."""
    conn = await asyncpg.connect(dsn)
    try:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM users")]
        statement = await conn.prepare("SELECT * FROM users WHERE id = $1")

        async def run() -> Tally:
            tally = Tally()
            start = time.perf_counter()
            deadline = start + seconds
            while time.perf_counter() < deadline and len(tally.latencies_ms) < max_queries:
                t0 = time.perf_counter()
                row = await statement.fetchrow(random.choice(ids))
                tally.latencies_ms.append((time.perf_counter() - t0) * 1000)
                assert row is not None
            tally.seconds = time.perf_counter() - start
            return tally

        figures = await meters.measure("bare asyncpg PK SELECT", run)
    finally:
        await conn.close()
    figures.notes.append("sequential on one connection; CPU: client = the asyncpg caller")
    return figures
