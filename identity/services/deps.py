"""The collaborators of the account services, built once at start-up (app lifespan, CLI)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.clock import Clock
from identity.crypto.refresh_tokens import RefreshTokenCodec
from identity.services.access_tokens import AccessTokens
from identity.services.hashing import PasswordHashing
from identity.services.policy import AccountPolicy


@dataclass(frozen=True)
class AccountDeps:
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    hashing: PasswordHashing
    refresh_tokens: RefreshTokenCodec
    access_tokens: AccessTokens
    policy: AccountPolicy
