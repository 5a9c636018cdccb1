"""Liveness and readiness for orchestrators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from identity.http.context import services_of
from identity.services.health import readiness


async def healthz(request: Request) -> JSONResponse:
    """Alive: the process answers. Never touches the database."""
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> JSONResponse:
    """Ready: database reachable, schema servable (at head, or ahead by expands only), and a
    signing key loaded."""
    checks = await readiness(services_of(request))
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )
