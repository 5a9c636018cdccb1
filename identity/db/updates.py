"""Core-style conditional UPDATEs, the primitive the racing state changes are built on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

# The identity map is neither consulted nor touched; callers re-read what they need.
RAW = {"synchronize_session": False}


async def updated_one(session: AsyncSession, stmt: Update) -> bool:
    """Run a conditional UPDATE of one row; True only if this call changed it."""
    result: CursorResult[Any] = await session.execute(stmt.execution_options(**RAW))  # type: ignore[assignment]
    return result.rowcount == 1
