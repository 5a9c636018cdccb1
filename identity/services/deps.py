"""The collaborators of the account services, built once at start-up (app lifespan, CLI)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.clock import Clock
from identity.crypto.refresh_tokens import RefreshTokenCodec
from identity.services.hashing import PasswordHashing
from identity.services.policy import AccountPolicy


class IssuedToken(Protocol):
    @property
    def token(self) -> str: ...
    @property
    def expires_in(self) -> int: ...


class AccessTokenIssuer(Protocol):
    """What the services need of `identity.services.access_tokens.AccessTokens`."""

    def issue(
        self,
        *,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        scope: str,
        roles: Sequence[str],
        client_id: str | None,
    ) -> IssuedToken: ...


@dataclass(frozen=True)
class AccountDeps:
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    hashing: PasswordHashing
    refresh_tokens: RefreshTokenCodec
    access_tokens: AccessTokenIssuer
    policy: AccountPolicy
