"""Queries over `oauth_clients`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from identity.db.direct import Connection, Statement, load
from identity.db.models import OAuthClient


class DuplicateClientId(Exception):
    """A live client already has this client_id."""


async def get_live(
    session: AsyncSession, client_id: str, *, for_update: bool = False
) -> OAuthClient | None:
    """The live client; `for_update` locks its row for a read-modify-write (administration)."""
    stmt = select(OAuthClient).where(
        OAuthClient.client_id == client_id, OAuthClient.deleted_at.is_(None)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


_LIVE_BY_CLIENT_ID = Statement(
    select(OAuthClient.__table__).where(
        OAuthClient.client_id == bindparam("client_id"), OAuthClient.deleted_at.is_(None)
    )
)


async def get_live_direct(conn: Connection, client_id: str) -> OAuthClient | None:
    """`get_live` on the hot paths' connection (`db/direct.py`): a detached row."""
    row = await conn.fetchrow(_LIVE_BY_CLIENT_ID, client_id=client_id)
    return load(OAuthClient, row) if row is not None else None


async def list_live_page(
    session: AsyncSession, *, after: str | None, limit: int
) -> Sequence[OAuthClient]:
    """Up to `limit` live clients by client_id, those after `after` (keyset pagination)."""
    stmt = select(OAuthClient).where(OAuthClient.deleted_at.is_(None))
    if after is not None:
        stmt = stmt.where(OAuthClient.client_id > after)
    stmt = stmt.order_by(OAuthClient.client_id).limit(limit)
    return (await session.scalars(stmt)).all()


async def insert(session: AsyncSession, row: OAuthClient) -> OAuthClient:
    """Raises DuplicateClientId when the unique index refuses it."""
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise DuplicateClientId(row.client_id) from None
    return row
