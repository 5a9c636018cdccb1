"""Each instance's in-memory view of the published keys, reloaded from the database.

`KeyRing` holds what a request needs without touching the database: the signing key
(decrypted once per load), the public keys by `kid`, and the JWKS document with its ETag.
`KeyManager` runs maintenance and reloads on an interval; every instance therefore sees a
new key set within one `reload_interval`, or turns not ready once its set is older than
`KeyPolicy.stale_after` (a reload keeps failing): a stale set is never served as fresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.clock import Clock
from identity.crypto import keys as key_crypto
from identity.crypto import secretbox
from identity.db import keys as key_queries
from identity.db.models import SigningKey
from identity.db.uow import unit_of_work
from identity.errors import SigningKeysUnavailable
from identity.services.keys import (
    KeyPolicy,
    MaintenanceResult,
    RevocationResult,
    maintain,
    revoke,
)
from identity.verifier.rules import KeyEntry

logger = logging.getLogger("identity.keys")

_STATE_ORDER = {"current": 0, "next": 1, "retired": 2}


@dataclass(frozen=True)
class SigningMaterial:
    kid: str
    alg: str
    key: key_crypto.Key
    # When it started signing (its publication, for a key made current at once).
    since: datetime | None = None


@dataclass(frozen=True)
class KeySnapshot:
    signing: SigningMaterial | None = None
    # kid -> the published key and the one algorithm it verifies (its own `alg`).
    entries: dict[str, KeyEntry] = field(default_factory=dict)
    jwks_body: bytes = b'{"keys":[]}'
    etag: str = '""'


def build_snapshot(rows: Sequence[SigningKey], secrets: Sequence[bytes]) -> KeySnapshot:
    ordered = sorted(rows, key=lambda r: (_STATE_ORDER.get(r.state, 9), r.published_at))
    jwks = {"keys": [key_crypto.public_jwk(r.public_jwk) for r in ordered]}
    body = json.dumps(jwks, separators=(",", ":"), sort_keys=True).encode()
    signing = None
    for row in ordered:
        if row.state == "current":
            plaintext = secretbox.decrypt(secrets, row.private_key_encrypted, row.kid.encode())
            signing = SigningMaterial(
                row.kid,
                row.alg,
                key_crypto.load_private(plaintext),
                since=row.activated_at or row.published_at,
            )
    return KeySnapshot(
        signing=signing,
        entries={
            r.kid: KeyEntry(r.kid, key_crypto.import_key(r.public_jwk), frozenset({r.alg}))
            for r in ordered
        },
        jwks_body=body,
        etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
    )


class KeyRing:
    """The current snapshot; swapped atomically on reload, read lock-free by requests."""

    def __init__(self) -> None:
        self.snapshot = KeySnapshot()


class KeyManager:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        ring: KeyRing,
        *,
        policy: KeyPolicy,
        secrets: Sequence[bytes],
        clock: Clock,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.ring = ring
        self.policy = policy
        self.secrets = list(secrets)
        self.clock = clock
        # When the ring last loaded successfully (readiness and the JWKS' caching use it).
        self.last_reload: datetime | None = None

    async def maintain(
        self, *, rotate: bool = False, unsafe_skip_publish_lead: bool = False
    ) -> MaintenanceResult:
        async with unit_of_work(self.sessionmaker) as session:
            result = await maintain(
                session,
                policy=self.policy,
                secrets=self.secrets,
                now=self.clock.now(),
                rotate=rotate,
                unsafe_skip_publish_lead=unsafe_skip_publish_lead,
            )
        if result.created or result.rotated_to or result.removed:
            logger.info(
                "signing keys maintained",
                extra={
                    "created_kids": list(result.created),
                    "rotated_to": result.rotated_to,
                    "removed_kids": list(result.removed),
                },
            )
        return result

    async def published(self) -> Sequence[SigningKey]:
        """Every published key (next, current, retired), oldest first."""
        async with unit_of_work(self.sessionmaker) as session:
            return await key_queries.list_published(session)

    async def reload(self) -> KeySnapshot:
        self.ring.snapshot = build_snapshot(await self.published(), self.secrets)
        self.last_reload = self.clock.now()
        return self.ring.snapshot

    async def revoke(self, kids: Sequence[str], *, reason: str) -> RevocationResult:
        """Unpublish `kids` now (services/keys.revoke); this process reloads at once, every
        other instance at its next reload, and the Bearer check refuses their tokens on every
        instance at once (services/sessions.authenticate asks the database).

        Raises:
            UnknownKey: a kid is not published; nothing changed.
        """
        async with unit_of_work(self.sessionmaker) as session:
            result = await revoke(
                session,
                kids=kids,
                reason=reason,
                policy=self.policy,
                secrets=self.secrets,
                now=self.clock.now(),
            )
        logger.warning(
            "signing keys revoked",
            extra={
                "revoked_kids": list(result.revoked),
                "reason": reason,
                "promoted_kid": result.promoted,
                "created_kids": list(result.maintenance.created),
            },
        )
        await self.reload()
        return result

    def stale(self) -> bool:
        """Never loaded, or not reloaded for longer than `stale_after` (KeyPolicy)."""
        if self.last_reload is None:
            return True
        return self.clock.now() - self.last_reload > self.policy.stale_after

    async def tick(self) -> MaintenanceResult:
        result = await self.maintain()
        await self.reload()
        return result

    async def run_forever(self) -> None:
        """Background task: maintain, then reload, every `reload_interval`; never dies.

        Rounds start on a fixed schedule, so a slow round does not stretch the period the
        publish lead was computed for; a failed maintenance does not skip the reload.
        """
        loop = asyncio.get_running_loop()
        interval = self.policy.reload_interval.total_seconds()
        next_round = loop.time() + interval
        while True:
            await asyncio.sleep(max(0.0, next_round - loop.time()))
            next_round = max(next_round + interval, loop.time())
            try:
                await self.maintain()
            except Exception:
                logger.exception("signing key maintenance failed")
            try:
                await self.reload()
            except Exception:
                logger.exception(
                    "could not reload the signing keys; serving the last set, not ready "
                    "once it is older than %d s",
                    self.policy.stale_after.total_seconds(),
                )

    def publishable(self) -> tuple[KeySnapshot, timedelta | None]:
        """The key set to publish, and how long caches may keep it: the JWKS max-age, or
        None (not at all) while the set is stale, since a newer one may already exist.

        Raises:
            SigningKeysUnavailable: nothing loaded yet; an empty set must not be cached.
        """
        snapshot = self.ring.snapshot
        if not snapshot.entries:
            raise SigningKeysUnavailable(int(self.policy.reload_interval.total_seconds()))
        return snapshot, None if self.stale() else self.policy.jwks_max_age

    def current_key_age(self) -> float:
        """Seconds since the current signing key started signing; NaN when none is loaded."""
        signing = self.ring.snapshot.signing
        if signing is None or signing.since is None:
            return math.nan
        return (self.clock.now() - signing.since).total_seconds()

    def readiness(self) -> str:
        if self.ring.snapshot.signing is None:
            return "no signing key loaded"
        if self.stale() and self.last_reload is not None:
            age = (self.clock.now() - self.last_reload).total_seconds()
            limit = self.policy.stale_after.total_seconds()
            return f"key set not reloaded for {age:.0f} s (limit {limit:.0f} s)"
        return "ok"
