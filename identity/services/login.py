"""The password grant: look up, verify in the hash pool, then record the outcome.

Two short units of work surround the hash instead of one long one: argon2 takes tens of
milliseconds, and holding a pooled connection (or SQLite's write lock) that long would let
a login flood starve refresh and /me of connections. What the second transaction writes is
guarded by conditional UPDATEs, so a lock or password change in between is honoured.

A login that presents a valid device token of the account is judged and counted on that
device; any other is judged on the account (`identity/services/lockout.py`). Unknown,
locked and disabled accounts cost the same hash work as a real one and end in the same
`InvalidCredentials`; only the event log knows which it was. Every refusal also takes
at least the refusal floor (services/login_timing.py), so a slower legacy hash does not
tell its account apart either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from identity.crypto.device_tokens import device_digest, new_device_token
from identity.crypto.passwords import UnknownHashFormat
from identity.db import devices as device_queries
from identity.db import direct
from identity.db import logins as login_queries
from identity.db.login_attempts import attempt_row
from identity.db.models import KnownDevice, User, UserSession
from identity.db.uow import after_commit, unit_of_work
from identity.errors import InvalidCredentials
from identity.services import clients
from identity.services.accounts import account_active, normalize_email
from identity.services.clients import Client, ClientCredentials
from identity.services.container import Services
from identity.services.events import AuthEventType, event_row
from identity.services.lockout import record_login_attempt, register_failure
from identity.services.login_timing import equal_refusal_time
from identity.services.origin import Origin
from identity.services.outcomes import count_logins
from identity.services.tokens import TokenPair, first_pair, new_session

logger = logging.getLogger("identity.login")


@dataclass(frozen=True)
class Login:
    """A successful login: its token pair, and the device token the client keeps for next
    time (a new one on every login; the one presented no longer works)."""

    pair: TokenPair
    device_token: str


def _refusal_reason(user: User | None, device: KnownDevice | None, matched: bool) -> str | None:
    if user is None:
        return "unknown_user"
    if not account_active(user):
        return "account_disabled"
    if device is not None and device.locked_at is not None:
        return "device_locked"
    if device is None and user.locked_at is not None:
        return "account_locked"  # for devices it has never seen
    return None if matched else "wrong_password"


async def _check_password(
    svc: Services, user: User | None, device: KnownDevice | None, password: str
) -> tuple[bool, str | None]:
    if user is None or _refusal_reason(user, device, matched=True) is not None:
        # Refused whatever the password: never consult the real hash, since verifying it
        # (and rehashing on a match) would let timing tell a right guess from a wrong one.
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


@count_logins
@equal_refusal_time
async def login_with_password(
    svc: Services,
    *,
    credentials: ClientCredentials,
    email: str,
    password: str,
    scope: str | None,
    audience: str | None,
    device_token: str | None,
    origin: Origin,
) -> Login:
    """Verify the client, what it asks for, then the user's credentials; open a session.

    The client's checks come first and cost no hash: a request that could never get a
    token is refused before any password work. Logins from unknown devices are throttled
    per account as well (a distributed guesser gets no more tries than one client).

    Raises:
        InvalidClient, UnauthorizedClient, InvalidScope, InvalidTarget: the client's part.
        RateLimited: too many logins for this account from unknown devices.
        InvalidCredentials: for every kind of refusal (its bookkeeping is committed).
    """
    identifier = normalize_email(email)
    digest = device_digest(device_token) if device_token else None
    async with direct.connect(svc.engine) as conn:
        client = await clients.identify_direct(
            conn, credentials, first_party=svc.first_party, digests=svc.client_secrets
        )
        client.allow(clients.PASSWORD)
        granted, target = client.grant_scope(scope), client.choose_audience(audience)
        user, device = await device_queries.live_user_and_device(
            conn, identifier, digest, now=svc.clock.now()
        )
    if device is None:
        await svc.throttle.hit("token-account", identifier)
    matched, new_hash = await _check_password(svc, user, device, password)

    reason = _refusal_reason(user, device, matched)
    if user is not None and reason is None:
        login = await _succeed(
            svc, user, device, new_hash, client, granted, target, identifier, origin
        )
        if login is not None:
            return login
        reason = "account_changed"  # locked, disabled or re-passworded meanwhile
    async with unit_of_work(svc.sessionmaker) as session:
        now = svc.clock.now()
        reason = reason or "unknown_user"
        await _refuse(svc, session, user, device, identifier, reason, origin, now)
    raise InvalidCredentials(reason=reason)


async def _succeed(
    svc: Services,
    user: User,
    device: KnownDevice | None,
    new_hash: str | None,
    client: Client,
    granted: str,
    target: str,
    identifier: str,
    origin: Origin,
) -> Login | None:
    """A verified login's writes, on the hot path (`db/logins.py`: one statement on
    PostgreSQL): the conditional UPDATEs that re-check the lookup's view, the session, a
    fresh device token (the known device's, rotated and its count reset, or a new device),
    the attempt and the events. None, and nothing written, when the device was locked or
    forgotten, or the account changed, since they were read."""
    now = svc.clock.now()
    session = new_session(
        svc, user=user, client=client, scope=granted, audience=target, origin=origin, now=now
    )
    token = new_device_token()
    digest = device_digest(token)
    assert digest is not None  # noqa: S101 (our own token has our shape)
    events = [
        event_row(
            AuthEventType.LOGIN_SUCCEEDED,
            at=now,
            user_id=user.id,
            session_id=session["id"],
            **origin.fields(),
            data={
                "scope": granted,
                "client_id": client.client_id,
                "audience": target,
                "device": "known" if device is not None else "new",
            },
        )
    ]
    if new_hash is not None:
        events.append(
            event_row(
                AuthEventType.PASSWORD_REHASHED,
                at=now,
                user_id=user.id,
                session_id=session["id"],
                **origin.fields(),
                data={"context": "login"},
            )
        )
    async with direct.connect(svc.engine) as conn:
        written = await login_queries.record_success(
            conn,
            user_id=user.id,
            verified_hash=user.password_hash,
            new_hash=new_hash,
            device_id=device.id if device is not None else None,
            now=now,
            session=session,
            device=device_queries.device_row(
                user_id=user.id,
                digest=digest,
                now=now,
                expires_at=now + svc.policy.device_token_ttl,
                ip=origin.ip,
                user_agent=origin.user_agent,
            ),
            attempt=attempt_row(
                identifier=identifier,
                user_id=user.id,
                succeeded=True,
                reason=None,
                ip=origin.ip,
                user_agent=origin.user_agent,
                now=now,
            ),
            events=events,
        )
    if not written:
        return None
    row = direct.load(UserSession, session)
    return Login(first_pair(svc, row, user, granted, client), token)


async def _refuse(
    svc: Services,
    session: AsyncSession,
    user: User | None,
    device: KnownDevice | None,
    identifier: str,
    reason: str,
    origin: Origin,
    now: datetime,
) -> None:
    if user is not None and reason == "wrong_password":
        locked = await register_failure(
            session,
            user,
            device=device,
            threshold=svc.policy.lockout_threshold,
            reason=reason,
            origin=origin,
            now=now,
        )
        if locked:
            kind = "device" if device is not None else "account"
            after_commit(session, lambda: svc.metrics.lockouts.inc(kind))
        return
    record_login_attempt(
        session,
        identifier=identifier,
        user_id=user.id if user else None,
        reason=reason,
        origin=origin,
        now=now,
    )
