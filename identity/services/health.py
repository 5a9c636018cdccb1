"""Readiness: the database answers, this build may serve on its schema (at head, or ahead by
expand revisions only: docs/operations.md §3), and a signing key is loaded."""

from __future__ import annotations

import logging

from sqlalchemy import text

from identity.db.migrations import schema_verdict
from identity.services.container import Services

logger = logging.getLogger("identity.health")


async def readiness(svc: Services) -> dict[str, str]:
    """Each check's verdict: "ok", or why not. Never raises: a failure is an answer."""
    checks: dict[str, str] = {}
    try:
        async with svc.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        checks["schema"] = (await schema_verdict(svc.engine)).detail
    except Exception as exc:  # any driver error means "not ready", never a 500
        logger.warning("readiness: database unreachable: %s", type(exc).__name__)
        checks["database"] = "unreachable"
    checks["signing_key"] = svc.keys.readiness()
    return checks
