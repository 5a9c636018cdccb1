"""Queries over `signing_keys`, and the lock that makes key maintenance single-instance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from identity.db.models import SigningKey

# pg_advisory_xact_lock key: an arbitrary constant naming "signing key maintenance".
_KEY_MAINTENANCE_LOCK = 0x1D_E7_4B_01


async def lock_for_maintenance(session: AsyncSession) -> None:
    """Serialise key maintenance across instances until this transaction ends.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: our transactions already begin
    IMMEDIATE, so the database-wide write lock is held from the first statement.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _KEY_MAINTENANCE_LOCK}
        )


async def list_published(session: AsyncSession) -> Sequence[SigningKey]:
    """Every key in the JWKS: next, current and retired, but never a revoked one."""
    rows = await session.scalars(
        select(SigningKey)
        .where(SigningKey.deleted_at.is_(None))
        .order_by(SigningKey.published_at, SigningKey.kid)
    )
    return rows.all()


async def delete_expired(session: AsyncSession, now: datetime) -> list[str]:
    """Remove published retired keys past their expiry; revoked tombstones stay."""
    result = await session.scalars(
        delete(SigningKey)
        .where(
            SigningKey.state == "retired",
            SigningKey.expires_at <= now,
            SigningKey.deleted_at.is_(None),
        )
        .returning(SigningKey.kid)
    )
    return list(result)


async def is_published(session: AsyncSession, kid: str) -> bool:
    """Whether `kid` is still in the key set (not removed, not revoked)."""
    found = await session.scalar(
        select(SigningKey.id).where(SigningKey.kid == kid, SigningKey.deleted_at.is_(None))
    )
    return found is not None
