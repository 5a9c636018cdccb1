"""The password grant: look up, verify in the hash pool, then record the outcome.

Two short units of work surround the hash instead of one long one: argon2 takes tens of
milliseconds, and holding a pooled connection (or SQLite's write lock) that long would let
a login flood starve refresh and /me of connections. What the second transaction writes is
guarded by conditional UPDATEs, so a lock or password change in between is honoured.

Unknown, locked and disabled accounts cost the same hash work as a real one and end in the
same `InvalidCredentials`; only the event log knows which it was. Every refusal also takes
at least the refusal floor (services/login_timing.py), so a slower legacy hash does not
tell its account apart either.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from identity.crypto.passwords import UnknownHashFormat
from identity.db import users as user_queries
from identity.db.models import User
from identity.db.uow import unit_of_work
from identity.errors import InvalidCredentials
from identity.services.accounts import normalize_email, user_can_sign_in
from identity.services.container import Services
from identity.services.events import AuthEventType, record
from identity.services.lockout import record_login_attempt, register_failure
from identity.services.login_timing import equal_refusal_time
from identity.services.origin import Origin
from identity.services.tokens import TokenPair, start_session

logger = logging.getLogger("identity.login")


async def _check_password(
    svc: Services, user: User | None, password: str
) -> tuple[bool, str | None]:
    if user is None or not user_can_sign_in(user):
        # Locked and disabled accounts never consult their real hash: verifying it (and
        # rehashing on a match) would let timing tell a right guess from a wrong one.
        await svc.hashing.verify_dummy(password)
        return False, None
    await svc.hashing.calibrate_for(user.password_hash)  # a profile new since start-up
    try:
        return await svc.hashing.verify_and_update(password, user.password_hash)
    except UnknownHashFormat:
        # A corrupt row must not become a 500, nor a way in; the operator must hear of it.
        logger.error("stored password hash has an unknown format", extra={"user_id": user.id})
        await svc.hashing.verify_dummy(password)
        return False, None


def _refusal_reason(user: User | None, matched: bool) -> str | None:
    if user is None:
        return "unknown_user"
    if user.locked_at is not None:
        return "account_locked"
    if not user.is_active:
        return "account_disabled"
    return None if matched else "wrong_password"


@equal_refusal_time
async def login_with_password(
    svc: Services,
    *,
    email: str,
    password: str,
    scope: str,
    client_id: str | None,
    origin: Origin,
) -> TokenPair:
    """Verify the credentials and open a session.

    Raises:
        InvalidCredentials: for every kind of refusal (its bookkeeping is committed).
    """
    identifier = normalize_email(email)
    async with unit_of_work(svc.sessionmaker) as session:
        user = await user_queries.get_live_by_email(session, identifier)
    matched, new_hash = await _check_password(svc, user, password)

    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        reason = _refusal_reason(user, matched)
        if user is not None and reason is None:
            if not await user_queries.complete_login(
                session, user.id, verified_hash=user.password_hash, new_hash=new_hash, now=now
            ):
                reason = "account_changed"  # locked, disabled or re-passworded meanwhile
        if user is None or reason is not None:
            await _refuse(svc, session, user, identifier, reason or "unknown_user", origin, now)
            raise InvalidCredentials

        pair = await start_session(
            session, svc, user=user, scope=scope, client_id=client_id, origin=origin, now=now
        )
        record_login_attempt(
            session,
            identifier=identifier,
            user_id=user.id,
            reason=None,
            origin=origin,
            now=now,
            session_id=pair.session_id,
            data={"scope": scope, "client_id": client_id},
        )
        if new_hash is not None:
            record(
                session,
                AuthEventType.PASSWORD_REHASHED,
                at=now,
                user_id=user.id,
                session_id=pair.session_id,
                **origin.fields(),
                data={"context": "login"},
            )
        return pair


async def _refuse(
    svc: Services,
    session: AsyncSession,
    user: User | None,
    identifier: str,
    reason: str,
    origin: Origin,
    now: datetime,
) -> None:
    if user is not None and reason == "wrong_password":
        await register_failure(
            session,
            user,
            threshold=svc.policy.lockout_threshold,
            reason=reason,
            origin=origin,
            now=now,
        )
        return
    record_login_attempt(
        session,
        identifier=identifier,
        user_id=user.id if user else None,
        reason=reason,
        origin=origin,
        now=now,
    )
