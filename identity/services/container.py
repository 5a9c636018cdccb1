"""The one container of collaborators, built once by the composition root (`identity.app`,
which the CLI reuses) and handed to every service as its first argument."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from identity.clock import Clock
from identity.crypto.client_secrets import ClientSecretDigests
from identity.crypto.refresh_tokens import RefreshTokenCodec
from identity.metrics import Metrics
from identity.services.access_tokens import AccessTokens
from identity.services.clients import Client
from identity.services.hashing import PasswordHashing
from identity.services.key_ring import KeyManager
from identity.services.policy import AccountPolicy
from identity.services.throttle import Throttle

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Services:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    policy: AccountPolicy
    hashing: PasswordHashing
    refresh_tokens: RefreshTokenCodec
    access_tokens: AccessTokens
    # The built-in public client of requests without a client_id (from the settings).
    first_party: Client
    client_secrets: ClientSecretDigests
    keys: KeyManager
    throttle: Throttle
    metrics: Metrics
    # Peers whose X-Forwarded-For is believed when deciding a request's client IP.
    trusted_proxies: tuple[IPNetwork, ...] = ()
