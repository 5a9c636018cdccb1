"""What every handler needs, built once by the app's lifespan and kept on `app.state.ctx`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request

from identity.clock import Clock
from identity.http.rate_limit import RateLimiter
from identity.metrics import Metrics
from identity.services.access_tokens import AccessTokens
from identity.services.deps import AccountDeps
from identity.services.key_ring import KeyManager

if TYPE_CHECKING:
    from identity.config import Settings


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    keys: KeyManager
    access_tokens: AccessTokens
    accounts: AccountDeps
    rate_limiter: RateLimiter
    metrics: Metrics


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx
