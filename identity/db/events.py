"""Queries over `user_events` (the auth event log): filtered keyset pages by (created_at, id),
and the INSERT of the hot paths (`db/direct.py`).

Every read is one index range scan bounded by `limit`, however deep the page: the filter's
user or type picks (user_id, created_at) or (type, created_at), anything else created_at.
The ORM's way of writing an event is `services.events.record`; the hot paths' INSERT
writes the same columns (`services.events.event_row`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from identity.db.direct import insert_every_column
from identity.db.models import User, UserEvent

EVENTS = cast(Table, UserEvent.__table__)
INSERT_EVENT = insert_every_column(EVENTS)


@dataclass(frozen=True)
class EventCriteria:
    """Which events: every set field must match (types: any of them)."""

    user_ids: tuple[uuid.UUID, ...] | None = None  # None: any user (or none)
    types: tuple[str, ...] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    up_to: datetime | None = None  # inclusive: an export's fixed end (the time it began)
    ip: str | None = None


def _conditions(criteria: EventCriteria) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if criteria.user_ids is not None:
        where.append(UserEvent.user_id.in_(criteria.user_ids))
    if criteria.types:
        where.append(UserEvent.type.in_(criteria.types))
    if criteria.since is not None:
        where.append(UserEvent.created_at >= criteria.since)
    if criteria.until is not None:
        where.append(UserEvent.created_at < criteria.until)
    if criteria.up_to is not None:
        where.append(UserEvent.created_at <= criteria.up_to)
    if criteria.ip is not None:
        where.append(UserEvent.ip == criteria.ip)
    return where


async def page(
    session: AsyncSession,
    criteria: EventCriteria,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    newest_first: bool,
) -> Sequence[UserEvent]:
    """Up to `limit` matching events strictly after the key `after` in the chosen order."""
    where = _conditions(criteria)
    if after is not None:
        at, event_id = after
        if newest_first:
            beyond = or_(
                UserEvent.created_at < at, and_(UserEvent.created_at == at, UserEvent.id < event_id)
            )
        else:
            beyond = or_(
                UserEvent.created_at > at, and_(UserEvent.created_at == at, UserEvent.id > event_id)
            )
        where.append(beyond)
    order = (
        (UserEvent.created_at.desc(), UserEvent.id.desc())
        if newest_first
        else (UserEvent.created_at.asc(), UserEvent.id.asc())
    )
    stmt = select(UserEvent).where(*where).order_by(*order).limit(limit)
    return (await session.scalars(stmt)).all()


async def user_ids_with_email(session: AsyncSession, email_normalized: str) -> list[uuid.UUID]:
    """Every account that had this email, soft-deleted ones too: their events remain."""
    stmt = select(User.id).where(User.email_normalized == email_normalized)
    return list((await session.scalars(stmt)).all())
