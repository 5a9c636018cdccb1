"""`python -m bench.inprocess`: CPU per request of the application alone, no server.

Each endpoint is called through the ASGI app in this process, one request after another,
against a throwaway PostgreSQL database set up as `make bench` does, at log level INFO and
WARNING. Next to the benchmark's figures this splits a request's CPU into the application's
share and the server stack's (uvicorn, HTTP parsing, a TCP connection per request), and
shows what the per-request access log costs. Log lines go to /dev/null.

`--cheap-hash` runs with argon2id at m=8 KiB t=1 (the users seeded to match), so that the
login row is what a login costs besides its hash.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import redirect_stderr
from typing import Any
from urllib.parse import urlencode

import uvloop
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp, Message

from bench.bare_app import app as bare_app
from bench.config import Config
from bench.database import connect_admin, throwaway_database
from bench.fixtures import PASSWORD
from bench.setup import prepare

FORM = ("content-type", "application/x-www-form-urlencoded")


async def call(
    app: ASGIApp, method: str, path: str, headers: list[tuple[str, str]], body: bytes = b""
) -> tuple[int, bytes]:
    """One request straight into the ASGI app: status and body."""
    scope: dict[str, Any] = {
        "type": "http", "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers]
        + [(b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip
    messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    status, chunks = 0, []

    async def receive() -> Message:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


ROUNDS = 3


def cpu_ms(n: int, one: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[float]]:
    """Best of `ROUNDS` rounds of `n` calls: on a shared machine the quietest round is the
    closest to the work itself."""

    async def measure() -> float:
        for _ in range(max(10, n // 10)):  # warm caches (statement compilation, imports)
            await one()
        best = float("inf")
        for _ in range(ROUNDS):
            start = time.process_time()
            for _ in range(n):
                await one()
            best = min(best, (time.process_time() - start) * 1000 / n)
        return best

    return measure


async def endpoints(app: ASGIApp, email: str, n: int) -> dict[str, float]:
    """CPU ms per request of each endpoint, sequentially through `app`."""
    login_form = urlencode({"grant_type": "password", "username": email, "password": PASSWORD})
    status, body = await call(app, "POST", "/token", [FORM], login_form.encode())
    assert status == 200, body
    tokens = json.loads(body)
    etag_status, _ = await call(app, "GET", "/.well-known/jwks.json", [])
    assert etag_status == 200

    async def expect(status_wanted: int, *args: Any) -> bytes:
        status, body = await call(app, *args)
        assert status == status_wanted, body
        return body

    async def refresh() -> None:
        form = urlencode({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        tokens.update(json.loads(await expect(200, "POST", "/token", [FORM], form.encode())))

    async def me() -> None:
        await expect(200, "GET", "/me", [("authorization", f"Bearer {tokens['access_token']}")])

    async def jwks() -> None:
        await expect(200, "GET", "/.well-known/jwks.json", [])

    async def healthz() -> None:
        await expect(200, "GET", "/healthz", [])

    async def login() -> None:
        await expect(200, "POST", "/token", [FORM], login_form.encode())

    runs = {"/healthz": healthz, "JWKS": jwks, "/me": me, "refresh": refresh}
    out = {name: await cpu_ms(n, one)() for name, one in runs.items()}
    out["login (hash included)"] = await cpu_ms(max(10, n // 20), login)()
    return out


async def run(cfg: Config, n: int) -> str:
    from identity.app import create_app

    admin = await connect_admin(cfg.admin_dsn)
    try:
        async with throwaway_database(admin, cfg.admin_dsn) as database:
            service = await prepare(cfg, database)
            columns: dict[str, dict[str, float]] = {}
            devnull = await asyncio.to_thread(open, os.devnull, "w")
            try:
                for level in ("INFO", "WARNING"):
                    os.environ["IDENTITY_LOG_LEVEL"] = level
                    with redirect_stderr(devnull):
                        app = create_app()  # reads the environment, as under uvicorn
                        async with LifespanManager(app) as manager:
                            columns[level] = await endpoints(manager.app, service.emails[0], n)
            finally:
                devnull.close()
    finally:
        await admin.close()
    bare = await cpu_ms(n, lambda: _bare())()
    lines = [
        f"In-process CPU ms per request, sequential, best of {ROUNDS} rounds of {n} requests "
        f"(login: {max(10, n // 20)}); argon2id {os.environ.get('IDENTITY_ARGON2_MEMORY_KIB')} "
        f"KiB t={os.environ.get('IDENTITY_ARGON2_TIME_COST')}:",
        "",
        "| endpoint | log level INFO | WARNING |",
        "|---|--:|--:|",
        f"| bare Starlette route | {bare:.3f} | - |",
        *(
            f"| {name} | {columns['INFO'][name]:.3f} | {columns['WARNING'][name]:.3f} |"
            for name in columns["INFO"]
        ),
    ]
    return "\n".join(lines)


async def _bare() -> None:
    status, _ = await call(bare_app, "GET", "/bare", [])
    assert status == 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="per endpoint and round")
    parser.add_argument("--cheap-hash", action="store_true", help="login without its hash cost")
    args = parser.parse_args()
    os.environ.setdefault("IDENTITY_ARGON2_MEMORY_KIB", "8" if args.cheap_hash else "19456")
    os.environ.setdefault("IDENTITY_ARGON2_TIME_COST", "1" if args.cheap_hash else "2")
    cfg = Config(users=10)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        print(runner.run(run(cfg, args.requests)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
