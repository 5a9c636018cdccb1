"""Liveness and readiness for orchestrators."""

from __future__ import annotations

import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from identity.db.migrations import current_revision, head_revision
from identity.http.context import get_ctx

logger = logging.getLogger("identity.health")


async def healthz(request: Request) -> JSONResponse:
    """Alive: the process answers. Never touches the database."""
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> JSONResponse:
    """Ready: database reachable, schema at the Alembic head, and a signing key loaded."""
    ctx = get_ctx(request)
    checks: dict[str, str] = {}
    try:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        revision, head = await current_revision(ctx.engine), head_revision()
        checks["schema"] = "ok" if revision == head else f"at {revision}, head is {head}"
    except Exception as exc:  # any driver error means "not ready", never a 500
        logger.warning("readiness: database unreachable: %s", type(exc).__name__)
        checks["database"] = "unreachable"
    checks["signing_key"] = await ctx.keys.readiness()
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )
