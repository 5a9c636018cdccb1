"""The client_credentials scenario, pluggable until the grant lands.

Order of checks, each a reason to report "not available in this build" instead of failing:
1. the token endpoint answers `unsupported_grant_type` to a client_credentials request;
2. there is no `identity clients` command to register the benchmark's client;
3. the command's output names no client_id and client_secret.

THE HOOK: when registered clients land, set `CREATE_ARGS` (or `BENCH_CLIENT_CREATE_ARGS`)
to the real `identity clients create ...` arguments. The output is read as JSON
(`{"client_id": ..., "client_secret": ...}`) or as `client_id: ...` / `client_secret: ...`
lines; the scenario authenticates with client_secret_basic.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shlex
import subprocess
import sys
from urllib.parse import quote_plus

from bench.http import Connection, form
from bench.load import Step, expect

CREATE_ARGS = os.environ.get(
    "BENCH_CLIENT_CREATE_ARGS",
    "clients create bench-client-credentials --grant-type client_credentials",
)
_FIELD = re.compile(r"\b(client_id|client_secret)\b\W+(\S+)")


def basic_auth(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 §2.3.1: form-urlencode each part, then Basic."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


async def grant_supported(port: int) -> bool:
    """False when the server does not know the grant at all (this build predates it)."""
    headers, body = form({"grant_type": "client_credentials"})
    headers |= basic_auth("bench-probe", "bench-probe-secret")
    response = await Connection(port).request("POST", "/token", headers=headers, body=body)
    if response.status != 400:
        return True
    try:
        return bool(response.json().get("error") != "unsupported_grant_type")
    except ValueError:
        return True


def parse_credentials(output: str) -> tuple[str, str] | None:
    try:
        data = json.loads(output)
        if isinstance(data, dict) and data.get("client_id") and data.get("client_secret"):
            return str(data["client_id"]), str(data["client_secret"])
    except ValueError:
        pass
    found = {m.group(1): m.group(2) for m in _FIELD.finditer(output)}
    if "client_id" in found and "client_secret" in found:
        return found["client_id"], found["client_secret"]
    return None


def create_client(env: dict[str, str]) -> tuple[str, str] | str:
    """The new client's (id, secret), or why there is none."""
    argv = [sys.executable, "-m", "identity", *shlex.split(CREATE_ARGS)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return f"`identity {CREATE_ARGS}` failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return parse_credentials(done.stdout) or f"no client_id/client_secret in {done.stdout!r}"


async def availability(port: int, env: dict[str, str]) -> tuple[str, str] | str:
    """Credentials to run the scenario with, or the reason it cannot run in this build."""
    if not await grant_supported(port):
        return "not available in this build: the server answers unsupported_grant_type"
    created = await asyncio.to_thread(create_client, env)
    return created if isinstance(created, tuple) else f"not available in this build: {created}"


def token_step(client_id: str, secret: str) -> Step:
    async def step(i: int, conn: Connection) -> None:
        headers, body = form({"grant_type": "client_credentials"})
        response = await conn.request(
            "POST", "/token", headers=headers | basic_auth(client_id, secret), body=body
        )
        expect(response, 200, "access_token")

    return step
