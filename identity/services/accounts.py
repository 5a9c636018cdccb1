"""Accounts: registration, profile updates and password changes.

Like login, the password-handling functions keep hashing outside any transaction (see
`services/login.py`): they open short units of work before and after the hash pool.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from identity.crypto.passwords import UnknownHashFormat
from identity.db import sessions as session_queries
from identity.db import users as user_queries
from identity.db.models import User
from identity.db.uow import unit_of_work
from identity.errors import (
    EmailTaken,
    PasswordChangeConflict,
    SessionEnded,
    WeakPassword,
    WrongCurrentPassword,
)
from identity.services.deps import AccountDeps
from identity.services.events import AuthEventType, record
from identity.services.lockout import register_failure
from identity.services.origin import Origin
from identity.services.password_policy import check_password, user_inputs


def normalize_email(email: str) -> str:
    """The identity of an account: `Alice@x`, `alice@x` and ` alice@x ` are one account."""
    return email.strip().lower()


async def enforce_password_policy(
    deps: AccountDeps, password: str, *, email: str, display_name: str | None
) -> None:
    """Raises WeakPassword listing every reason (the strength estimate runs in the pool)."""
    violations = await deps.hashing.run(
        check_password, password, deps.policy.password, user_inputs(email, display_name)
    )
    if violations:
        raise WeakPassword(reasons=[{"code": v.code, "message": v.message} for v in violations])


async def register_user(
    deps: AccountDeps,
    *,
    email: str,
    password: str,
    display_name: str | None,
    origin: Origin,
) -> User:
    """Create an account.

    Raises:
        WeakPassword: the policy refuses the password (every reason listed).
        EmailTaken: a live account has this email, in any case or spacing.
    """
    email, normalized = email.strip(), normalize_email(email)
    await enforce_password_policy(deps, password, email=email, display_name=display_name)
    password_hash = await deps.hashing.hash(password)
    async with unit_of_work(deps.sessionmaker) as session:
        now = deps.clock.now()
        if await user_queries.get_live_by_email(session, normalized) is not None:
            raise EmailTaken
        try:
            user = await user_queries.insert_user(
                session,
                email=email,
                email_normalized=normalized,
                password_hash=password_hash,
                display_name=display_name,
                now=now,
            )
        except user_queries.DuplicateEmail:
            raise EmailTaken from None  # a concurrent registration won the unique index
        record(
            session,
            AuthEventType.USER_REGISTERED,
            at=now,
            user_id=user.id,
            actor_id=user.id,
            **origin.fields(),
        )
    return user


async def update_profile(
    session: AsyncSession,
    user: User,
    *,
    display_name: str | None,
    origin: Origin,
    deps: AccountDeps,
) -> User:
    if display_name != user.display_name:
        now = deps.clock.now()
        await user_queries.set_display_name(session, user, display_name, now)
        record(
            session,
            AuthEventType.PROFILE_UPDATED,
            at=now,
            user_id=user.id,
            actor_id=user.id,
            **origin.fields(),
            data={"fields": ["display_name"]},
        )
    return user


async def change_password(
    deps: AccountDeps,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    current_password: str,
    new_password: str,
    origin: Origin,
) -> None:
    """Replace the password after checking the current one; every other session ends.

    Raises:
        WeakPassword: the new password breaks the policy.
        WrongCurrentPassword: counted toward lockout like a failed login.
        PasswordChangeConflict: another request changed the password meanwhile.
        SessionEnded: the account is gone.
    """
    async with unit_of_work(deps.sessionmaker) as session:
        user = await user_queries.get_live_by_id(session, user_id)
    if user is None:
        raise SessionEnded
    await enforce_password_policy(
        deps, new_password, email=user.email, display_name=user.display_name
    )
    try:
        matched = await deps.hashing.verify(current_password, user.password_hash)
    except UnknownHashFormat:
        matched = False  # a corrupt row: nothing can match it
    if not matched:
        async with unit_of_work(deps.sessionmaker) as session:
            await register_failure(
                session,
                user,
                threshold=deps.policy.lockout_threshold,
                reason="wrong_current_password",
                origin=origin,
                now=deps.clock.now(),
                context="change_password",
            )
            raise WrongCurrentPassword
    new_hash = await deps.hashing.hash(new_password)

    async with unit_of_work(deps.sessionmaker) as session:
        now = deps.clock.now()
        if not await user_queries.replace_password_hash(
            session, user_id, verified_hash=user.password_hash, new_hash=new_hash, now=now
        ):
            raise PasswordChangeConflict
        ended = await session_queries.revoke_for_user(
            session, user_id, now=now, reason="password_changed", keep=session_id
        )
        record(
            session,
            AuthEventType.PASSWORD_CHANGED,
            at=now,
            user_id=user_id,
            session_id=session_id,
            actor_id=user_id,
            **origin.fields(),
            data={"sessions_ended": len(ended)},
        )
