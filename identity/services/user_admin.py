"""Administering accounts, for the admin API and the `identity users` commands alike: list and
search, show, create, unlock, disable, enable, grant and revoke roles, soft-delete.

Accounts are named by id (the API) or by email (the CLI). Each action is one unit of work
that re-reads the account with its row locked, changes it with a conditional UPDATE and
records its event naming the acting administrator (`actor_id`; None from the command line,
whose origin says `identity-cli`). A disable or a delete ends every session of the account
in the same transaction, so their access tokens stop at once (the Bearer check refuses
tokens of ended sessions and of accounts that can no longer sign in). The reads are recorded
too (`users_listed`, `user_viewed`), in the unit of work that reads, as the clients' are.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from identity.db import devices as device_queries
from identity.db import sessions as session_queries
from identity.db import user_admin as admin_queries
from identity.db import users as user_queries
from identity.db.models import User
from identity.db.uow import unit_of_work
from identity.db.user_admin import UserFilter as UserFilter  # the API and CLI build it
from identity.errors import UserNotFound
from identity.services.accounts import check_roles, create_account, normalize_email
from identity.services.admin_views import AdminUserView
from identity.services.container import Services
from identity.services.events import AuthEventType, record
from identity.services.lockout import unlock_account
from identity.services.origin import Origin
from identity.services.paging import Page, describe_page, key_of, page_of

# An account as an operator names it: its id (the API) or its email (the CLI).
UserKey = uuid.UUID | str


async def find_user(session: AsyncSession, key: UserKey, *, for_update: bool = False) -> User:
    """The live account named by `key`, its row locked when `for_update`.

    Raises:
        UserNotFound: no live account has this id or email.
    """
    if isinstance(key, uuid.UUID):
        if for_update:
            user = await admin_queries.lock_live_by_id(session, key)
        else:
            user = await user_queries.get_live_by_id(session, key)
    elif for_update:
        user = await user_queries.lock_live_by_email(session, normalize_email(key))
    else:
        user = await user_queries.get_live_by_email(session, normalize_email(key))
    if user is None:
        raise UserNotFound
    return user


async def lock_with_devices(session: AsyncSession, key: UserKey) -> User:
    """The live account named by `key`, its known devices' rows locked first and then its
    own: the order a login from a known device takes them in (docs/architecture.md,
    "Transactions"), which the other order would deadlock with (a 500). For whatever
    changes both an account and its devices (unlock, delete).

    Raises:
        UserNotFound: no live account has this id or email.
    """
    user = await find_user(session, key)
    await device_queries.lock_rows_of(session, user.id)
    return await find_user(session, user.id, for_update=True)


async def _full_view(session: AsyncSession, user: User, now: datetime) -> AdminUserView:
    counts = await admin_queries.counts(session, user.id, now)
    return AdminUserView.of(
        user,
        locked_devices=counts.locked_devices,
        live_sessions=counts.live_sessions,
        known_devices=counts.known_devices,
    )


async def list_users(
    svc: Services,
    where: UserFilter,
    *,
    limit: int,
    after: Sequence[str] | None,
    actor_id: uuid.UUID | None,
    origin: Origin,
) -> Page[AdminUserView]:
    """One page of live accounts, oldest first, matching every filter given; recorded as
    `users_listed` with the filter and the page asked (never the cursor's content).

    Raises:
        ValidationFailed: `after` is not a (created_at, id) key.
    """
    key = key_of(after)
    where = UserFilter(
        email_prefix=normalize_email(where.email_prefix) if where.email_prefix else None,
        locked=where.locked,
        disabled=where.disabled,
    )
    async with unit_of_work(svc.sessionmaker) as session:
        rows = await admin_queries.page_users(session, where, limit=limit, after=key)
        page = page_of(rows, limit, lambda row: AdminUserView.of(row[0], locked_devices=row[1]))
        record(
            session,
            AuthEventType.USERS_LISTED,
            at=svc.clock.now(),
            actor_id=actor_id,
            **origin.fields(),
            data={"filter": _describe(where), **describe_page(page, limit=limit, after=key)},
        )
    return page


def _describe(where: UserFilter) -> dict[str, object]:
    """The filter as recorded in `users_listed` (only what was set)."""
    return {k: v for k, v in asdict(where).items() if v is not None}


async def get_user(
    svc: Services, key: UserKey, *, actor_id: uuid.UUID | None, origin: Origin
) -> AdminUserView:
    """One account with its lock state, failure count and session and device counts;
    recorded as `user_viewed` (`user_id` = the account).

    Raises:
        UserNotFound: no such live account (nothing is recorded).
    """
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        view = await _full_view(session, await find_user(session, key), now)
        record(
            session,
            AuthEventType.USER_VIEWED,
            at=now,
            user_id=view.id,
            actor_id=actor_id,
            **origin.fields(),
        )
    return view


async def create_user(
    svc: Services,
    *,
    email: str,
    password: str,
    display_name: str | None,
    roles: Sequence[str],
    actor_id: uuid.UUID | None,
    origin: Origin,
) -> AdminUserView:
    """An account made by an operator, under the same password policy as registration.

    Raises:
        WeakPassword, EmailTaken, ValidationFailed: as `accounts.create_account`.
    """
    user = await create_account(
        svc,
        email=email,
        password=password,
        display_name=display_name,
        roles=roles,
        event=AuthEventType.USER_CREATED_BY_ADMIN,
        actor_id=actor_id,
        origin=origin,
    )
    return AdminUserView.of(user, locked_devices=0, live_sessions=0, known_devices=0)


async def unlock_user(
    svc: Services, key: UserKey, *, actor_id: uuid.UUID | None, origin: Origin, via: str
) -> tuple[AdminUserView, bool]:
    """Lift the account's lock and its devices' locks; the account and whether anything was
    locked (an event is recorded only then)."""
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        user = await lock_with_devices(session, key)
        unlocked = await unlock_account(
            session, user, actor_id=actor_id, origin=origin, now=now, via=via
        )
        user = await find_user(session, user.id)
        return await _full_view(session, user, now), unlocked


async def set_disabled(
    svc: Services,
    key: UserKey,
    disabled: bool,
    *,
    actor_id: uuid.UUID | None,
    origin: Origin,
) -> AdminUserView:
    """Disable the account (its logins refused as an unknown account's, every session
    ended) or enable it again (ended sessions stay ended). Doing what is already done
    changes nothing and records nothing."""
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        user = await find_user(session, key, for_update=True)
        if await admin_queries.set_active(session, user.id, active=not disabled, now=now):
            data: dict[str, object] = {}
            if disabled:
                ended = await session_queries.revoke_for_user(
                    session, user.id, now=now, reason="account_disabled"
                )
                data["sessions_ended"] = len(ended)
            record(
                session,
                AuthEventType.ACCOUNT_DISABLED if disabled else AuthEventType.ACCOUNT_ENABLED,
                at=now,
                user_id=user.id,
                actor_id=actor_id,
                **origin.fields(),
                data=data,
            )
        user = await find_user(session, user.id)
        return await _full_view(session, user, now)


async def change_role(
    svc: Services,
    key: UserKey,
    role: str,
    *,
    grant: bool,
    actor_id: uuid.UUID | None,
    origin: Origin,
) -> AdminUserView:
    """Grant or revoke a role. The admin API decides from the row, so a revoked `admin`
    takes effect at once; tokens carry the new roles from the next login or refresh.

    Raises:
        ValidationFailed: not a role name (naming `role`).
        UserNotFound: no such live account.
    """
    check_roles([role], field="role")
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        user = await find_user(session, key, for_update=True)
        current = list(user.roles or [])
        wanted = [*current, role] if grant and role not in current else current
        if not grant:
            wanted = [r for r in current if r != role]
        if wanted != current:
            await user_queries.set_roles(session, user.id, wanted, now)
            record(
                session,
                AuthEventType.ROLE_GRANTED if grant else AuthEventType.ROLE_REVOKED,
                at=now,
                user_id=user.id,
                actor_id=actor_id,
                **origin.fields(),
                data={"role": role},
            )
        user = await find_user(session, user.id)
        return await _full_view(session, user, now)


async def delete_user(
    svc: Services, key: UserKey, *, actor_id: uuid.UUID | None, origin: Origin
) -> AdminUserView:
    """Soft-delete the account: every session ends, its devices are forgotten, its email
    is free for a new account, and its logins are refused as an unknown account's. The
    rows stay (events and attempts keep pointing at them) until retention removes them.

    Raises:
        UserNotFound: no such live account (a second delete is one too).
    """
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        user = await lock_with_devices(session, key)
        view = await _full_view(session, user, now)
        if not await admin_queries.soft_delete_user(session, user.id, now):
            raise UserNotFound  # deleted meanwhile
        ended = await session_queries.revoke_for_user(
            session, user.id, now=now, reason="account_deleted"
        )
        record(
            session,
            AuthEventType.ACCOUNT_DELETED,
            at=now,
            user_id=user.id,
            actor_id=actor_id,
            **origin.fields(),
            data={"sessions_ended": len(ended)},
        )
    return view
