"""Signing key life cycle: next → current → retired → removed (docs/architecture.md,
"Signing keys").

Timing rules, so that no verifier ever meets an unknown `kid`. Let M be the JWKS max-age
and R the reload interval. An instance whose key set is older than `stale_after` = 2R is
not ready (it missed a whole reload), and its orchestrator stops routing to it within one
more probe period, which must be at most R. So `propagation` = 3R bounds how long an
instance that still serves may show an old key set, whatever its real reload period
(R plus the time a reload takes, plus any hiccup shorter than R):
- a key is published as `next` and signs only after `publish_lead` = M + 3R: every serving
  instance's JWKS shows it, and every cache of an older JWKS has expired;
- a retired key stays published for `retired_lifetime` = access-token TTL + 3R + leeway,
  after which no token it signed, on any instance still serving, can be valid.
Maintenance runs under a database lock, so with several instances exactly one rotates.

`revoke` is the emergency exit for a stolen key: it unpublishes the key at once (a
soft delete, its reason in `note`), promotes the next key if the current one went, and
records `key_revoked` in the same transaction (docs/operations.md, "Revoking a key").
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
    def stale_after(self) -> timedelta:
        """A key set older than this makes the instance not ready (one reload missed)."""
        return 2 * self.reload_interval

    @property
    def propagation(self) -> timedelta:
        """How late a still-serving instance may see a key change: not ready after
        `stale_after`, out of rotation one probe period (at most R) later."""
        return self.stale_after + self.reload_interval

    @property
    def publish_lead(self) -> timedelta:
        return self.jwks_max_age + self.propagation

    @property
    def retired_lifetime(self) -> timedelta:
        return self.access_token_ttl + self.propagation + self.leeway


class UnknownKey(LookupError):
    """No published key has this kid (never existed, removed, or already revoked)."""


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


@dataclass(frozen=True)
class RevocationResult:
    revoked: tuple[str, ...]
    promoted: str | None  # the next key that signs from now on, if the current one went
    maintenance: MaintenanceResult  # keys created to restore current and next


async def revoke(
    session: AsyncSession,
    *,
    kids: Sequence[str],
    reason: str,
    policy: KeyPolicy,
    secrets: Sequence[bytes],
    now: datetime,
) -> RevocationResult:
    """Unpublish `kids` now; signing continues with the next key, or a new one.

    The rows stay as soft-deleted tombstones (`note` says why), so a revoked kid is never
    published again and the record survives. A promoted next key skips the publish lead,
    as `rotate --force` does: a verifier whose cached JWKS predates it refetches once on
    the unknown kid (the shipped verifier does).

    Raises:
        UnknownKey: a kid is not published; nothing is changed.
    """
    await key_queries.lock_for_maintenance(session)
    rows = list(await key_queries.list_published(session))
    targets = [r for r in rows if r.kid in set(kids)]
    missing = sorted(set(kids) - {r.kid for r in targets})
    if missing:
        raise UnknownKey(", ".join(missing))
    was_current = next((r.kid for r in targets if r.state == "current"), None)
    for row in targets:
        record(
            session,
            AuthEventType.KEY_REVOKED,
            at=now,
            data={"kid": row.kid, "state": row.state, "reason": reason},
        )
        # Out of the `current` slot (its unique index ignores deleted_at), no expiry: the
        # tombstone stays, and delete_expired only removes published keys.
        row.state, row.retired_at, row.expires_at = "retired", row.retired_at or now, None
        row.deleted_at, row.note = now, f"revoked: {reason}"
    await session.flush()
    remaining = [r for r in rows if r not in targets]
    promoted = None
    if not any(r.state == "current" for r in remaining):
        upcoming = next((r for r in remaining if r.state == "next"), None)
        if upcoming is not None and upcoming.alg == policy.alg:
            upcoming.state, upcoming.activated_at = "current", now
            promoted = upcoming.kid
            record(
                session,
                AuthEventType.KEY_ROTATED,
                at=now,
                data={
                    "from_kid": was_current,
                    "to_kid": upcoming.kid,
                    "alg": upcoming.alg,
                    "cause": "revocation",
                },
            )
            await session.flush()
    # Whatever is missing now (a next key; a current one if there was no next) is made
    # here; the maintenance lock is reentrant within this transaction.
    result = await maintain(session, policy=policy, secrets=secrets, now=now)
    return RevocationResult(tuple(r.kid for r in targets), promoted, result)
