"""Administering one account's sessions and known devices: list them, end one session or all
of them, forget a device. Each action, the lists included, is one unit of work with its event
naming the acting administrator; an ended session's access tokens are refused at once by the
Bearer check."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from identity.db import sessions as session_queries
from identity.db import user_admin as admin_queries
from identity.db.models import KnownDevice, UserSession
from identity.db.uow import unit_of_work
from identity.db.user_admin import Owned
from identity.errors import DeviceNotFound, SessionNotFound
from identity.services.admin_views import AdminSessionView, DeviceView
from identity.services.container import Services
from identity.services.events import AuthEventType, record
from identity.services.origin import Origin
from identity.services.paging import Page, V, describe_page, key_of, page_of
from identity.services.sessions import session_is_live
from identity.services.user_admin import UserKey, find_user

REVOKED_BY_ADMIN = "revoked_by_admin"


async def list_user_sessions(
    svc: Services,
    key: UserKey,
    *,
    limit: int,
    after: Sequence[str] | None,
    actor_id: uuid.UUID | None,
    origin: Origin,
) -> Page[AdminSessionView]:
    """One page of the account's sessions, live and ended, newest first; recorded as
    `user_sessions_listed` (`user_id` = the account).

    Raises:
        UserNotFound: no such live account (nothing is recorded).
        ValidationFailed: `after` is not a (created_at, id) key.
    """
    return await _recorded_page(
        svc,
        key,
        UserSession,
        AdminSessionView.of,
        AuthEventType.USER_SESSIONS_LISTED,
        limit=limit,
        after=after,
        actor_id=actor_id,
        origin=origin,
    )


async def _recorded_page(
    svc: Services,
    key: UserKey,
    model: type[Owned],
    view: Callable[[Owned, datetime], V],
    event: AuthEventType,
    *,
    limit: int,
    after: Sequence[str] | None,
    actor_id: uuid.UUID | None,
    origin: Origin,
) -> Page[V]:
    """One page of what the account owns, and its `event` in the same unit of work."""
    cursor = key_of(after)
    async with unit_of_work(svc.sessionmaker) as session:
        user = await find_user(session, key)
        rows = await admin_queries.page_owned(session, model, user.id, limit=limit, after=cursor)
        now = svc.clock.now()
        page = page_of(rows, limit, lambda row: view(row, now))
        record(
            session,
            event,
            at=now,
            user_id=user.id,
            actor_id=actor_id,
            **origin.fields(),
            data=describe_page(page, limit=limit, after=cursor),
        )
    return page


async def end_session(
    svc: Services,
    key: UserKey,
    session_id: uuid.UUID,
    *,
    actor_id: uuid.UUID | None,
    origin: Origin,
) -> None:
    """End one live session of the account.

    Raises:
        UserNotFound: no such live account.
        SessionNotFound: the account has no live session with this id.
    """
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        user = await find_user(session, key)
        row = await session_queries.get(session, session_id)
        if row is None or row.user_id != user.id or not session_is_live(row, now):
            raise SessionNotFound
        if not await session_queries.revoke(session, session_id, now=now, reason=REVOKED_BY_ADMIN):
            raise SessionNotFound  # ended meanwhile
        record(
            session,
            AuthEventType.SESSION_REVOKED,
            at=now,
            user_id=user.id,
            session_id=session_id,
            actor_id=actor_id,
            **origin.fields(),
            data={"reason": REVOKED_BY_ADMIN},
        )


async def end_all_sessions(
    svc: Services, key: UserKey, *, actor_id: uuid.UUID | None, origin: Origin
) -> int:
    """End every open session of the account; how many were ended (the event is recorded
    even for none: the operator's decision is worth keeping).

    Raises:
        UserNotFound: no such live account.
    """
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        user = await find_user(session, key, for_update=True)
        ended = await session_queries.revoke_for_user(
            session, user.id, now=now, reason=REVOKED_BY_ADMIN
        )
        record(
            session,
            AuthEventType.SESSIONS_REVOKED,
            at=now,
            user_id=user.id,
            actor_id=actor_id,
            **origin.fields(),
            data={"reason": REVOKED_BY_ADMIN, "sessions_ended": len(ended)},
        )
    return len(ended)


async def list_devices(
    svc: Services,
    key: UserKey,
    *,
    limit: int,
    after: Sequence[str] | None,
    actor_id: uuid.UUID | None,
    origin: Origin,
) -> Page[DeviceView]:
    """One page of the account's known (not forgotten) devices, newest first; recorded as
    `user_devices_listed` (`user_id` = the account).

    Raises:
        UserNotFound: no such live account (nothing is recorded).
        ValidationFailed: `after` is not a (created_at, id) key.
    """
    return await _recorded_page(
        svc,
        key,
        KnownDevice,
        lambda row, _now: DeviceView.of(row),
        AuthEventType.USER_DEVICES_LISTED,
        limit=limit,
        after=after,
        actor_id=actor_id,
        origin=origin,
    )


async def forget_device(
    svc: Services,
    key: UserKey,
    device_id: uuid.UUID,
    *,
    actor_id: uuid.UUID | None,
    origin: Origin,
) -> None:
    """Forget one known device: its device token stops counting as known, so its next login
    is judged on the account (and its lock, if it had one, goes with it).

    Raises:
        UserNotFound: no such live account.
        DeviceNotFound: the account has no known device with this id.
    """
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        user = await find_user(session, key)
        if not await admin_queries.forget_device(session, user.id, device_id, now):
            raise DeviceNotFound
        record(
            session,
            AuthEventType.DEVICE_FORGOTTEN,
            at=now,
            user_id=user.id,
            actor_id=actor_id,
            **origin.fields(),
            data={"device_id": str(device_id)},
        )
