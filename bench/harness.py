"""One benchmark run on PostgreSQL: a throwaway database, the baselines, then every scenario
against `identity serve` with production-like settings, and the report.

Order matters on a shared machine: each baseline runs right before (or near) the scenarios
it is compared with, so drift hits both alike.
"""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import uvloop

from bench import baselines, clients, scenarios
from bench.config import RESULTS, Config, parse
from bench.database import (
    PgCpu,
    chain_state,
    connect_admin,
    dsn_for,
    throwaway_database,
)
from bench.fixtures import open_chains
from bench.meters import Meters
from bench.report import write
from bench.server import free_port, identity_argv, running
from bench.setup import prepare
from bench.targets import Run
from identity.config import Settings
from identity.crypto.passwords import Argon2Parameters


def loadavg() -> str:
    """The 1-minute load average: how busy the shared machine was around the run."""
    return Path("/proc/loadavg").read_text().split()[0]


def _meta(
    cfg: Config, settings: Settings, hash_slots: int, login_clients: int, pg_version: str
) -> dict[str, Any]:
    commit = (
        subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
        ).stdout.strip()
        or "unknown"
    )
    connection = (
        "keep-alive connections"
        if cfg.keep_alive
        else "a fresh TCP connection per request (`Connection: close`)"
    )
    return {
        "title": cfg.title,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": commit,
        "cpus": os.cpu_count(),
        "loadavg_start": loadavg(),
        "postgres": pg_version,
        "python": platform.python_version(),
        "workers": cfg.workers,
        "settings": (
            "IDENTITY_ENV=production, rate limiting off (IDENTITY_RATE_LIMIT_ENABLED=false: "
            f"all load comes from 127.0.0.1), log level {cfg.log_level} (JSON lines to a file), "
            f"database pool {settings.database_pool_size} (+{settings.database_pool_size} "
            "overflow) per worker"
        ),
        "argon2": f"m={settings.argon2_memory_kib} KiB t={settings.argon2_time_cost} "
        f"p={settings.argon2_parallelism}",
        "hash_concurrency": hash_slots // cfg.workers,
        "load": (
            f"{connection}, from one Python asyncio (uvloop) process sharing the same CPUs; "
            f"closed-loop clients: {cfg.concurrency} for refresh, /me, JWKS and the bare "
            f"route, {login_clients} for login (twice the hash slots); refresh drives "
            f"{cfg.chains} chains, each client its own share of them in turn; "
            f"{cfg.warmup:g} s warm-up, then a "
            f"{cfg.seconds:g} s window (at most {cfg.max_requests:,} requests) per scenario; "
            "every answer's status and body checked"
        ),
        "config": {k: str(v) for k, v in vars(cfg).items()},
        "notes": [
            "server CPU ms/req: utime+stime (/proc/<pid>/stat, all threads) of the `identity "
            "serve` process tree (uvicorn master + workers), sampled right before and after "
            "the window, divided by the requests sent in it",
            "PG CPU (bench db): the backends `pg_stat_activity` lists for the throwaway "
            "database, sampled likewise. PG cluster: the postmaster's whole tree with reaped "
            "children, exact but it includes other databases (other test suites on this "
            "machine) and background processes: an upper bound",
            f"users: {cfg.users} accounts inserted directly into the database sharing one "
            "precomputed argon2id hash of the production parameters (verification costs the "
            "same whatever the salt); refresh chains opened by real logins",
            "bare argon2id verify: server CPU is the hashing process's CPU per verification, "
            "the latencies those of one verification at that thread count",
            "bare asyncpg PK SELECT: sequential on one connection; load gen CPU is the "
            "asyncpg caller's (what the service would spend per query)",
            f"mixed: refresh and /me probed by {cfg.probe_clients} clients each at "
            f"{cfg.probe_rate:g} req/s per client on a fixed schedule (latency from the "
            "scheduled send time), first alone, then while the login clients saturate "
            "the hash pools; no CPU split by request kind there",
        ],
    }


async def run(cfg: Config) -> Run:
    admin = await connect_admin(cfg.admin_dsn)
    try:
        async with throwaway_database(admin, cfg.admin_dsn) as database:
            return await _run_in(cfg, admin, database)
    finally:
        await admin.close()


async def _run_in(cfg: Config, admin: asyncpg.Connection, database: str) -> Run:
    service = await prepare(cfg, database)
    pg = PgCpu(admin, database)
    await pg.start()
    version = await admin.fetchval("SHOW server_version")
    result = Run(_meta(cfg, service.settings, service.hash_slots, service.login_clients, version))
    with tempfile.TemporaryDirectory(prefix="identity-bench-") as tmp:
        result.baselines["starlette"] = await baselines.bare_starlette(
            cfg, Meters(None, pg), Path(tmp) / "bare.log"
        )
        result.baselines["asyncpg"] = await baselines.asyncpg_select(
            dsn_for(cfg.admin_dsn, database), Meters(None, pg), cfg.seconds, cfg.max_requests
        )
        port = free_port()
        async with running(
            identity_argv(port, cfg.workers),
            env=service.env,
            log=Path(tmp) / "identity.log",
            ready_path="/readyz",
            port=port,
        ) as server:
            chains = await open_chains(port, service.emails[: cfg.chains])
            ctx = scenarios.Context(
                cfg,
                port,
                Meters(server.pid, pg),
                service.emails,
                chains,
                service.login_clients,
                dsn_for(cfg.admin_dsn, database),
            )
            if "login" in cfg.scenarios:
                await _login_rounds(ctx, result, service.params, service.hash_slots)
            await _scenarios(ctx, result, service.env)
            state = await chain_state(service.url, [c.session_id for c in chains])
            result.chains = {
                "chains": len(chains),
                "live": state.live,
                "mismatched": [
                    c.session_id
                    for c in chains
                    if state.generations.get(c.session_id) != c.rotations
                ],
                "reuse_events": state.reuse_events,
                "rehash_events": state.rehash_events,
            }
            result.server_errors = server.error_lines()
    result.meta["loadavg_end"] = loadavg()
    return result


async def _login_rounds(
    ctx: scenarios.Context, result: Run, params: Argon2Parameters, slots: int
) -> None:
    """Bare argon2id, then logins, `login_rounds` times over: the login target is a ratio of
    two rates, and a neighbour's load that comes and goes must weigh on both alike."""
    print("bench: bare argon2id and login", file=sys.stderr)
    seconds = ctx.cfg.seconds / ctx.cfg.login_rounds
    for _ in range(ctx.cfg.login_rounds):
        bare = await asyncio.to_thread(baselines.argon2_verify, params, slots, seconds)
        login = await scenarios.run(ctx, "login", seconds)
        if "argon2" in result.baselines:
            bare, login = (
                result.baselines["argon2"].merge(bare),
                result.scenarios["login"].merge(login),
            )
        result.baselines["argon2"], result.scenarios["login"] = bare, login


async def _scenarios(ctx: scenarios.Context, result: Run, env: dict[str, str]) -> None:
    chosen = ctx.cfg.scenarios
    for name in scenarios.CLOSED_LOOP:
        if name in chosen and name != "login":
            print(f"bench: {name}", file=sys.stderr)
            result.scenarios[name] = await scenarios.run(ctx, name)
    if "client_credentials" in chosen:
        found = await clients.availability(ctx.port, env)
        if isinstance(found, str):
            result.unavailable["client_credentials"] = found
        else:
            step = clients.token_step(*found)
            result.scenarios["client_credentials"] = await ctx.window(
                "client_credentials", step, ctx.cfg.concurrency
            )
    if "mixed" in chosen:
        print("bench: mixed", file=sys.stderr)
        for figures in await scenarios.mixed(ctx):
            result.scenarios[figures.name] = figures


async def _main(cfg: Config) -> Run:
    task = asyncio.current_task()
    assert task is not None
    # SIGTERM cancels like Ctrl-C does, so the servers stop and the database is dropped.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run(cfg)


def main(argv: list[str] | None = None) -> None:
    cfg = parse(argv)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        result = runner.run(_main(cfg))
    print(write(result, cfg.output, before_path=RESULTS / "before.json"))
