"""The service's scenarios, each a warm-up then one measured window against `identity serve`.

Clients are closed-loop (the next request when the last is answered) except in the mixed
run, where refresh and /me are probed on a fixed schedule, first alone and then while
logins saturate every worker's hash pool.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

from bench.config import Config
from bench.database import analyze
from bench.fixtures import Chain, login_form, me, rotate
from bench.http import Connection
from bench.load import Shape, Step, Tally, closed_loop, expect, paced
from bench.meters import Meters
from bench.stats import Figures

JWKS = "/.well-known/jwks.json"


@dataclass
class Context:
    cfg: Config
    port: int
    meters: Meters
    emails: list[str]
    chains: list[Chain]
    login_clients: int
    database_dsn: str  # the benchmark database's, for `analyze`

    def shape(self, concurrency: int) -> Shape:
        return Shape(self.port, concurrency, self.cfg.max_requests, self.cfg.keep_alive)

    async def window(
        self, name: str, step: Step, concurrency: int, seconds: float | None = None
    ) -> Figures:
        """A measured window (of `seconds`, default the configured one) after a warm-up."""
        shape = self.shape(concurrency)
        await closed_loop(step, shape, self.cfg.warmup)
        await analyze(self.database_dsn)  # what the warm-up wrote has statistics
        length = self.cfg.seconds if seconds is None else seconds
        return await self.meters.measure(name, lambda: closed_loop(step, shape, length))

    async def renew(self) -> None:
        """A fresh access token on every chain (they live 10 minutes), one rotation each."""
        conn = Connection(self.port)
        for chain in self.chains:
            await rotate(chain, conn)


def login_step(emails: list[str]) -> Step:
    """Password grants over `emails` in turn: many users, each signing in now and then."""
    turn = itertools.count()

    async def step(i: int, conn: Connection) -> None:
        headers, body = login_form(emails[next(turn) % len(emails)])
        response = await conn.request("POST", "/token", headers=headers, body=body)
        expect(response, 200, "access_token", "refresh_token")

    return step


def refresh_step(chains: list[Chain], clients: int) -> Step:
    """Client i drives chains i, i + clients, ... in turn: many chains, each only ever
    presenting the token its previous answer returned."""
    turns = [itertools.cycle(chains[i::clients]) for i in range(clients)]

    async def step(i: int, conn: Connection) -> None:
        await rotate(next(turns[i]), conn)

    return step


def me_step(chains: list[Chain]) -> Step:
    async def step(i: int, conn: Connection) -> None:
        await me(chains[i % len(chains)], conn)

    return step


def jwks_step(etag: str | None) -> Step:
    """GET the JWKS; with `etag`, conditionally (If-None-Match), expecting 304."""
    headers = {"If-None-Match": etag} if etag else {}

    async def step(i: int, conn: Connection) -> None:
        response = await conn.request("GET", JWKS, headers=headers)
        if etag:
            expect(response, 304)
        else:
            expect(response, 200, "keys")

    return step


CLOSED_LOOP = ("login", "refresh", "me", "jwks", "jwks_304")


async def plan(ctx: Context, name: str) -> tuple[str, Step, int]:
    """Title, step and number of clients of one of the `CLOSED_LOOP` scenarios."""
    n = ctx.cfg.concurrency
    if name == "login":
        return "login", login_step(ctx.emails), ctx.login_clients
    if name == "refresh":
        n = min(n, len(ctx.chains))
        return "refresh", refresh_step(ctx.chains, n), n
    if name == "me":
        await ctx.renew()
        return "/me", me_step(ctx.chains), n
    if name == "jwks":
        return "JWKS", jwks_step(None), n
    if name == "jwks_304":
        etag = (await Connection(ctx.port).request("GET", JWKS)).headers["etag"]
        return "JWKS If-None-Match (304)", jwks_step(etag), n
    raise ValueError(f"not a closed-loop scenario: {name}")


async def run(ctx: Context, name: str, seconds: float | None = None) -> Figures:
    title, step, clients = await plan(ctx, name)
    return await ctx.window(title, step, clients, seconds)


def _figures(name: str, tally: Tally) -> Figures:
    """Latency-only figures: in a mixed window CPU cannot be split between request kinds."""
    return Figures(
        name,
        len(tally.latencies_ms),
        tally.errors,
        tally.seconds,
        tally.latencies_ms,
        error_samples=tally.error_samples,
    )


async def mixed(ctx: Context) -> list[Figures]:
    """Refresh and /me p99 on a light fixed schedule, idle and then under saturating logins."""
    await ctx.renew()
    await analyze(ctx.database_dsn)
    cfg, k = ctx.cfg, ctx.cfg.probe_clients
    refreshing, reading = ctx.chains[:k], ctx.chains[k : 2 * k]

    async def probe(step: Step) -> Tally:
        return await paced(
            step,
            port=ctx.port,
            clients=k,
            rate_per_client=cfg.probe_rate,
            seconds=cfg.seconds,
            keep_alive=cfg.keep_alive,
        )

    async def probes() -> list[Tally]:
        return list(
            await asyncio.gather(probe(refresh_step(refreshing, k)), probe(me_step(reading)))
        )

    idle_refresh, idle_me = await probes()
    logins = asyncio.create_task(
        closed_loop(login_step(ctx.emails), ctx.shape(ctx.login_clients), cfg.warmup + cfg.seconds)
    )
    await asyncio.sleep(cfg.warmup)  # the hash pools are full before the probes start
    loaded_refresh, loaded_me = await probes()
    background = await logins
    return [
        _figures("mixed: refresh, idle", idle_refresh),
        _figures("mixed: refresh, under logins", loaded_refresh),
        _figures("mixed: /me, idle", idle_me),
        _figures("mixed: /me, under logins", loaded_me),
        _figures("mixed: logins (background)", background),
    ]
