"""Accounts: registration, profile updates, password changes and an operator's unlock."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from identity.crypto.passwords import UnknownHashFormat
from identity.db import sessions as session_queries
from identity.db import users as user_queries
from identity.db.models import User
from identity.db.uow import after_commit, unit_of_work
from identity.errors import (
    Detail,
    EmailTaken,
    PasswordChangeConflict,
    SessionEnded,
    ValidationFailed,
    WeakPassword,
    WrongCurrentPassword,
)
from identity.services.container import Services
from identity.services.events import AuthEventType, record
from identity.services.lockout import register_failure
from identity.services.origin import Origin
from identity.services.password_policy import check_password, user_inputs
from identity.services.views import ProfileView

if TYPE_CHECKING:
    from identity.services.sessions import Principal


def normalize_email(email: str) -> str:
    """The identity of an account: `Alice@x`, `alice@x` and ` alice@x ` are one account."""
    return email.strip().lower()


def account_active(user: User | None) -> bool:
    """Neither disabled nor deleted: its sessions go on. A lock caused by failed logins is not
    here on purpose: it bars new logins from unknown devices, and ends no session."""
    return user is not None and user.deleted_at is None and user.is_active


async def enforce_password_policy(
    svc: Services, password: str, *, email: str, display_name: str | None
) -> None:
    """Raises WeakPassword listing every reason (the strength estimate runs in the pool)."""
    violations = await svc.hashing.run(
        check_password, password, svc.policy.password, user_inputs(email, display_name)
    )
    if violations:
        raise WeakPassword(details=[Detail(v.message, code=v.code) for v in violations])


async def register_user(
    svc: Services,
    *,
    email: str,
    password: str,
    display_name: str | None,
    origin: Origin,
) -> ProfileView:
    """Create an account (the user's own registration).

    Raises:
        WeakPassword: the policy refuses the password (every reason listed).
        EmailTaken: a live account has this email, in any case or spacing.
    """
    user = await create_account(
        svc,
        email=email,
        password=password,
        display_name=display_name,
        roles=(),
        event=AuthEventType.USER_REGISTERED,
        actor_id=None,
        origin=origin,
    )
    return ProfileView.of(user)


async def create_account(
    svc: Services,
    *,
    email: str,
    password: str,
    display_name: str | None,
    roles: Sequence[str],
    event: AuthEventType,
    actor_id: uuid.UUID | None,
    origin: Origin,
) -> User:
    """Create an account with `roles` and record `event`, naming `actor_id` as its actor
    (a registration names the new user itself; None from the command line). Registration
    and an administrator's creation share it, so both enforce the same password policy and
    the same unique email.

    Raises:
        WeakPassword: the policy refuses the password (every reason listed).
        EmailTaken: a live account has this email, in any case or spacing.
        ValidationFailed: a role is not a role name.
    """
    roles = check_roles(roles)
    email, normalized = email.strip(), normalize_email(email)
    await enforce_password_policy(svc, password, email=email, display_name=display_name)
    password_hash = await svc.hashing.hash(password)
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
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
        if roles:
            await user_queries.set_roles(session, user.id, roles, now)
            user.roles = roles
        record(
            session,
            event,
            at=now,
            user_id=user.id,
            # A registration is the user's own act; an operator's creation names the
            # administrator, or no one from the command line.
            actor_id=user.id if event is AuthEventType.USER_REGISTERED else actor_id,
            **origin.fields(),
            data={"roles": roles} if roles else None,
        )
    return user


async def update_profile(
    svc: Services, principal: Principal, *, display_name: str | None, origin: Origin
) -> ProfileView:
    user = principal.user
    if display_name == user.display_name:
        return ProfileView.of(user)
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        if not await user_queries.set_display_name(session, user.id, display_name, now):
            raise SessionEnded
        record(
            session,
            AuthEventType.PROFILE_UPDATED,
            at=now,
            user_id=user.id,
            actor_id=user.id,
            **origin.fields(),
            data={"fields": ["display_name"]},
        )
    user.display_name, user.updated_at = display_name, now
    return ProfileView.of(user)


async def change_password(
    svc: Services,
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
    origin: Origin,
) -> None:
    """Replace the password after checking the current one; every other session ends.

    Raises:
        WeakPassword: the new password breaks the policy.
        WrongCurrentPassword: counted toward lockout like a failed login.
        PasswordChangeConflict: another request changed the password meanwhile.
        SessionEnded: the account went away after authentication.
    """
    user, session_id = principal.user, principal.session.id
    # Each attempt costs a strength estimate and up to two hashes: one account cannot make
    # the service spend them without bound (per address: the HTTP layer).
    await svc.throttle.hit("change-password-account", str(user.id))
    await enforce_password_policy(
        svc, new_password, email=user.email, display_name=user.display_name
    )
    try:
        matched = await svc.hashing.verify(current_password, user.password_hash)
    except UnknownHashFormat:
        matched = False  # a corrupt row: nothing can match it
    new_hash = await svc.hashing.hash(new_password) if matched else None

    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        if new_hash is None:
            locked = await register_failure(
                session,
                user,
                device=None,  # a signed-in caller presents no device token: the account counts
                threshold=svc.policy.lockout_threshold,
                reason="wrong_current_password",
                origin=origin,
                now=now,
                context="change_password",
            )
            if locked:
                after_commit(session, lambda: svc.metrics.lockouts.inc("account"))
            raise WrongCurrentPassword
        if not await user_queries.replace_password_hash(
            session, user.id, verified_hash=user.password_hash, new_hash=new_hash, now=now
        ):
            if await user_queries.get_live_by_id(session, user.id) is None:
                raise SessionEnded
            raise PasswordChangeConflict
        ended = await session_queries.revoke_for_user(
            session, user.id, now=now, reason="password_changed", keep=session_id
        )
        record(
            session,
            AuthEventType.PASSWORD_CHANGED,
            at=now,
            user_id=user.id,
            session_id=session_id,
            actor_id=user.id,
            **origin.fields(),
            data={"sessions_ended": len(ended)},
        )


ROLE = re.compile(r"[a-z][a-z0-9_.:-]{0,63}")
MAX_ROLES = 32


def check_roles(roles: Sequence[str], *, field: str = "roles") -> list[str]:
    """Distinct role names in their given order.

    Raises:
        ValidationFailed: naming `field`, for a name that is not a role or too many.
    """
    if len(roles) > MAX_ROLES:
        raise ValidationFailed(details=[Detail(f"at most {MAX_ROLES} roles", field=field)])
    for role in roles:
        if not ROLE.fullmatch(role):
            raise ValidationFailed(
                details=[
                    Detail(
                        "a role is 1-64 of a-z 0-9 _ . : - , starting with a letter", field=field
                    )
                ]
            )
    return list(dict.fromkeys(roles))
