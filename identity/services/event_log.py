"""Reading the auth event log: query pages (newest first) and streamed exports (oldest first).

Both are filtered by user, type(s), a [since, until) window and ip (`parse_filter`, shared by
the admin API and the CLI), and both are themselves recorded (`events_viewed`,
`events_exported`) with the filter and the acting administrator: an auditor must be able to
tell who pulled the log.

An export reads in bounded keyset batches, each its own short unit of work, so memory stays
flat and no transaction stays open while a slow client drains the stream. Its end is fixed
when it begins (`up_to`), so a busy log cannot keep it running; the export's own
`events_exported` event is written before the first line, and is part of the export when the
filter matches it.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identity.db import events as event_queries
from identity.db.events import EventCriteria
from identity.db.models import UserEvent
from identity.db.uow import unit_of_work
from identity.errors import Detail, UserNotFound, ValidationFailed
from identity.services.accounts import normalize_email
from identity.services.container import Services
from identity.services.events import AuthEventType, record
from identity.services.origin import Origin

EXPORT_BATCH = 500
_INSTANT_MAX = 64  # characters of an ISO 8601 instant, generously
_IP_MAX = 64
EVENT_TYPES = frozenset(str(t) for t in AuthEventType)


@dataclass(frozen=True)
class EventFilter:
    """A parsed, valid filter; `user_email` (the CLI's) stands for every account that had it."""

    user_id: uuid.UUID | None = None
    user_email: str | None = None
    types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    ip: str | None = None

    def describe(self) -> dict[str, Any]:
        """The filter as recorded in the viewing/export event (only what was set)."""
        values = {
            "user_id": str(self.user_id) if self.user_id else None,
            "user_email": self.user_email,
            "types": list(self.types) or None,
            "since": iso(self.since),
            "until": iso(self.until),
            "ip": self.ip,
        }
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class EventView:
    """One event as the API and the export show it (its `data` never holds a secret: the
    services that record events keep them out)."""

    id: uuid.UUID
    type: str
    created_at: datetime
    user_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    session_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, row: UserEvent) -> EventView:
        return cls(
            id=row.id,
            type=row.type,
            created_at=row.created_at,
            user_id=row.user_id,
            actor_id=row.actor_id,
            session_id=row.session_id,
            ip=row.ip,
            user_agent=row.user_agent,
            request_id=row.request_id,
            data=dict(row.data or {}),
        )

    def as_json(self) -> dict[str, Any]:
        """The one JSON shape of an event (API items and export lines alike)."""
        return {
            "id": str(self.id),
            "type": self.type,
            "created_at": iso(self.created_at),
            "user_id": _text(self.user_id),
            "actor_id": _text(self.actor_id),
            "session_id": _text(self.session_id),
            "ip": self.ip,
            "user_agent": self.user_agent,
            "request_id": self.request_id,
            "data": self.data,
        }

    def key(self) -> list[str]:
        """Its keyset position, as a cursor holds it."""
        return [self.created_at.isoformat(), str(self.id)]


@dataclass(frozen=True)
class Export:
    """A started export: its criteria, fixed end included."""

    criteria: EventCriteria


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def parse_instant(value: str, name: str) -> datetime:
    """An ISO 8601 instant with its UTC offset ("Z" or ±hh:mm), as UTC.

    Raises:
        ValidationFailed: not ISO 8601, no offset (a naive time is ambiguous), out of range.
    """
    try:
        if len(value) > _INSTANT_MAX:
            raise ValueError
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise _invalid(name, "needs a UTC offset (e.g. 2026-01-31T12:00:00Z)")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _invalid(name, "is not an ISO 8601 date-time with offset") from None


def parse_filter(
    *,
    user_id: str | None = None,
    user_email: str | None = None,
    types: Sequence[str] = (),
    since: str | None = None,
    until: str | None = None,
    ip: str | None = None,
) -> EventFilter:
    """A filter from the strings a query or a command line carries; every problem at once.

    Raises:
        ValidationFailed: with one detail per malformed field.
    """
    problems: list[Detail] = []
    values: dict[str, Any] = {}
    if user_id is not None:
        try:
            values["user_id"] = uuid.UUID(user_id)
        except ValueError:
            problems.append(Detail("is not a UUID", field="user_id"))
    if user_email is not None:
        values["user_email"] = normalize_email(user_email)
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        problems.append(Detail("is not an event type (see AuthEventType)", field="type"))
    values["types"] = tuple(sorted(set(types)))
    for name, raw in (("since", since), ("until", until)):
        if raw is not None:
            try:
                values[name] = parse_instant(raw, name)
            except ValidationFailed as exc:
                problems.extend(exc.details)
    if ip is not None:
        try:
            if len(ip) > _IP_MAX:
                raise ValueError
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            problems.append(Detail("is not an IP address", field="ip"))
        else:
            # As recorded: IPv4-mapped IPv6 is folded to IPv4.
            mapped = getattr(address, "ipv4_mapped", None)
            values["ip"] = str(mapped or address)
    if "since" in values and "until" in values and values["since"] >= values["until"]:
        problems.append(Detail("must be later than since", field="until"))
    if problems:
        raise ValidationFailed("The query is not valid.", details=problems)
    return EventFilter(**values)


def _invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed("The query is not valid.", details=[Detail(message, field=name)])


def _cursor_key(after: Sequence[str]) -> tuple[datetime, uuid.UUID]:
    try:
        at = datetime.fromisoformat(after[0])
        if at.tzinfo is None:
            raise ValueError
        return at.astimezone(UTC), uuid.UUID(after[1])
    except (ValueError, OverflowError, IndexError):
        raise _invalid("cursor", "is not a cursor this service returned") from None


async def _criteria(session: AsyncSession, flt: EventFilter) -> EventCriteria:
    user_ids: tuple[uuid.UUID, ...] | None = None
    if flt.user_id is not None:
        user_ids = (flt.user_id,)
    if flt.user_email is not None:
        user_ids = tuple(await event_queries.user_ids_with_email(session, flt.user_email))
        if not user_ids:
            raise UserNotFound(f"No account has the email {flt.user_email!r}.")
    return EventCriteria(
        user_ids=user_ids, types=flt.types, since=flt.since, until=flt.until, ip=flt.ip
    )


async def list_events(
    svc: Services,
    flt: EventFilter,
    *,
    after: Sequence[str] | None,
    limit: int,
    actor_id: uuid.UUID | None,
    origin: Origin,
) -> tuple[list[EventView], list[str] | None]:
    """One page of matching events, newest first, and the key of the next page (None: last).

    The viewing is recorded (`events_viewed`) in the same unit of work, after the read, so
    a page never lists its own viewing.

    Raises:
        ValidationFailed: `after` is not a key this service returned.
        UserNotFound: the filter names an email no account ever had.
    """
    key = _cursor_key(after) if after is not None else None
    async with unit_of_work(svc.sessionmaker) as session:
        criteria = await _criteria(session, flt)
        rows = await event_queries.page(
            session, criteria, after=key, limit=limit + 1, newest_first=True
        )
        views = [EventView.of(r) for r in rows[:limit]]
        record(
            session,
            AuthEventType.EVENTS_VIEWED,
            at=svc.clock.now(),
            actor_id=actor_id,
            **origin.fields(),
            data={
                "filter": flt.describe(),
                "count": len(views),
                "page": "next" if key else "first",
            },
        )
    next_key = views[-1].key() if len(rows) > limit else None
    return views, next_key


async def start_export(
    svc: Services, flt: EventFilter, *, actor_id: uuid.UUID | None, origin: Origin
) -> Export:
    """Fix the export's end (now) and record `events_exported`, before any line is sent.

    Raises:
        UserNotFound: the filter names an email no account ever had.
    """
    async with unit_of_work(svc.sessionmaker) as session:
        criteria = await _criteria(session, flt)
        now = svc.clock.now()
        record(
            session,
            AuthEventType.EVENTS_EXPORTED,
            at=now,
            actor_id=actor_id,
            **origin.fields(),
            data={"filter": flt.describe(), "up_to": iso(now)},
        )
    return Export(criteria=replace(criteria, up_to=now))


async def stream_export(
    svc: Services, export: Export, *, batch: int = EXPORT_BATCH
) -> AsyncIterator[EventView]:
    """The export's events, oldest first, `batch` rows per short read."""
    key: tuple[datetime, uuid.UUID] | None = None
    while True:
        async with unit_of_work(svc.sessionmaker) as session:
            rows = await event_queries.page(
                session, export.criteria, after=key, limit=batch, newest_first=False
            )
            views = [EventView.of(r) for r in rows]
        for view in views:
            yield view
        if len(views) < batch:
            return
        key = (views[-1].created_at, views[-1].id)
