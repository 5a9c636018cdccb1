"""The two primitives every table's queries are built on: a fresh read of a live row by id,
and a Core-style conditional UPDATE of one row (what the racing state changes rely on)."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Update, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from identity.db.base import Mutable

# The identity map is neither consulted nor touched; callers re-read what they need.
RAW = {"synchronize_session": False}

Row = TypeVar("Row", bound=Mutable)


async def live_by_id(session: AsyncSession, model: type[Row], row_id: uuid.UUID) -> Row | None:
    """The row unless soft-deleted, as the database has it now (after losing a
    compare-and-swap, the winner's row is what the caller needs, not a cached copy)."""
    stmt = (
        select(model)
        .where(model.id == row_id, model.deleted_at.is_(None))
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one_or_none()


async def updated_one(session: AsyncSession, stmt: Update) -> bool:
    """Run a conditional UPDATE of one row; True only if this call changed it."""
    result: CursorResult[Any] = await session.execute(stmt.execution_options(**RAW))  # type: ignore[assignment]
    return result.rowcount == 1
