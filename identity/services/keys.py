"""Signing key life cycle: next → current → retired → removed (docs/architecture.md,
"Signing keys").

Timing rules, so that no verifier ever meets an unknown `kid`:
- a key is published as `next` and signs only after `publish_lead` = JWKS max-age plus the
  instances' reload interval (every instance's JWKS shows it, and every cache has expired);
- a retired key stays published for `retired_lifetime` = access-token TTL plus the reload
  interval plus leeway, after which no token it signed can still be valid.
Maintenance runs under a database lock, so with several instances exactly one rotates.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from identity.crypto import keys as key_crypto
from identity.crypto import secretbox
from identity.db import keys as key_queries
from identity.db.models import SigningKey
from identity.services.events import AuthEventType, record

logger = logging.getLogger("identity.keys")


@dataclass(frozen=True)
class KeyPolicy:
    alg: str
    rotation_interval: timedelta
    jwks_max_age: timedelta
    reload_interval: timedelta
    access_token_ttl: timedelta
    leeway: timedelta = timedelta(seconds=30)

    @property
    def publish_lead(self) -> timedelta:
        return self.jwks_max_age + self.reload_interval

    @property
    def retired_lifetime(self) -> timedelta:
        return self.access_token_ttl + self.reload_interval + self.leeway


@dataclass(frozen=True)
class MaintenanceResult:
    created: tuple[str, ...] = ()
    rotated_to: str | None = None
    removed: tuple[str, ...] = ()
    # Set when a rotation was asked for but the next key has not been published long enough.
    rotation_deferred_until: datetime | None = None


def _new_key(policy: KeyPolicy, secrets: Sequence[bytes], state: str, now: datetime) -> SigningKey:
    generated = key_crypto.generate_signing_key(policy.alg)
    return SigningKey(
        kid=generated.kid,
        alg=generated.alg,
        public_jwk=generated.public_jwk,
        private_key_encrypted=secretbox.encrypt(
            secrets[0], key_crypto.serialize_private(generated), generated.kid.encode()
        ),
        secret_fingerprint=secretbox.fingerprint(secrets[0]),
        state=state,
        published_at=now,
        activated_at=now if state == "current" else None,
        created_at=now,
        updated_at=now,
    )


async def maintain(
    session: AsyncSession,
    *,
    policy: KeyPolicy,
    secrets: Sequence[bytes],
    now: datetime,
    rotate: bool = False,
    unsafe_skip_publish_lead: bool = False,
) -> MaintenanceResult:
    """Bring the key set to its steady state; rotate when due (or asked to).

    Runs inside the caller's transaction and takes the maintenance lock first, so the state
    it reads cannot change under it. `unsafe_skip_publish_lead` is for a compromised key:
    verifiers whose cached JWKS predates the new key reject its tokens until they refetch.
    """
    await key_queries.lock_for_maintenance(session)
    removed = tuple(await key_queries.delete_expired(session, now))
    for kid in removed:
        record(session, AuthEventType.KEY_REMOVED, at=now, data={"kid": kid})
    rows = list(await key_queries.list_published(session))
    current = next((k for k in rows if k.state == "current"), None)
    upcoming = next((k for k in rows if k.state == "next"), None)
    created: list[str] = []
    rotated_to: str | None = None
    deferred: datetime | None = None

    if upcoming is not None and upcoming.alg != policy.alg:
        # The algorithm setting changed: the unused next key was never signed with, drop it.
        await session.delete(upcoming)
        upcoming = None

    if current is None:
        # First start: nobody can have cached a JWKS yet, so the first key signs at once.
        current = _new_key(policy, secrets, "current", now)
        session.add(current)
        created.append(current.kid)
    elif rotate or now - (current.activated_at or current.published_at) >= policy.rotation_interval:
        ready_at = upcoming.published_at + policy.publish_lead if upcoming else now
        if upcoming is not None and (unsafe_skip_publish_lead or ready_at <= now):
            current.state, current.retired_at = "retired", now
            current.expires_at = now + policy.retired_lifetime
            await session.flush()  # one current at a time: the unique index checks each step
            upcoming.state, upcoming.activated_at = "current", now
            record(
                session,
                AuthEventType.KEY_ROTATED,
                at=now,
                data={"from_kid": current.kid, "to_kid": upcoming.kid, "alg": upcoming.alg},
            )
            rotated_to, upcoming = upcoming.kid, None
        else:
            deferred = ready_at

    if upcoming is None:
        upcoming = _new_key(policy, secrets, "next", now)
        session.add(upcoming)
        created.append(upcoming.kid)
    for kid in created:
        record(session, AuthEventType.KEY_CREATED, at=now, data={"kid": kid, "alg": policy.alg})
    await session.flush()
    return MaintenanceResult(tuple(created), rotated_to, removed, deferred)
