"""Each instance's in-memory view of the published keys, reloaded from the database.

`KeyRing` holds what a request needs without touching the database: the signing key
(decrypted once per load), the public keys by `kid`, and the JWKS document with its ETag.
`KeyManager` runs maintenance and reloads on an interval; every instance therefore sees a
new key set within one `reload_interval`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.clock import Clock
from identity.crypto import keys as key_crypto
from identity.crypto import secretbox
from identity.db import keys as key_queries
from identity.db.models import SigningKey
from identity.db.uow import unit_of_work
from identity.services.keys import KeyPolicy, MaintenanceResult, maintain
from identity.verifier.rules import KeyEntry

logger = logging.getLogger("identity.keys")

_STATE_ORDER = {"current": 0, "next": 1, "retired": 2}


@dataclass(frozen=True)
class SigningMaterial:
    kid: str
    alg: str
    key: key_crypto.Key


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
            signing = SigningMaterial(row.kid, row.alg, key_crypto.load_private(plaintext))
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
        return self.ring.snapshot

    async def tick(self) -> MaintenanceResult:
        result = await self.maintain()
        await self.reload()
        return result

    async def run_forever(self) -> None:
        """Background task: maintain and reload every `reload_interval`; never dies on errors."""
        interval = self.policy.reload_interval.total_seconds()
        while True:
            await asyncio.sleep(interval)
            try:
                await self.tick()
            except Exception:
                logger.exception("signing key maintenance failed; keeping the last key set")

    def readiness(self) -> str:
        return "ok" if self.ring.snapshot.signing is not None else "no signing key loaded"
