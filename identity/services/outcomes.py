"""What happened to each password login and each refresh, counted once on the way out
(`identity_logins_total{outcome}`, `identity_refreshes_total{outcome}`; docs/operations.md §6).

The decorators sit on the service functions, so every exit is counted, an error included,
and only after the unit of work has committed or rolled back. The labels are closed sets
(`identity.metrics.LOGIN_OUTCOMES`, `REFRESH_OUTCOMES`) that split what the HTTP answers
deliberately merge (an unknown account and a wrong password are one `invalid_grant`): that
is why `/metrics` belongs on the management port, never on the public listener.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from identity.errors import (
    InvalidClient,
    InvalidCredentials,
    InvalidRefreshToken,
    InvalidScope,
    InvalidTarget,
    RateLimited,
    RefreshTokenReused,
    TemporarilyUnavailable,
    UnauthorizedClient,
)

if TYPE_CHECKING:
    from identity.services.container import Services
    from identity.services.login import Login
    from identity.services.tokens import TokenPair

P = ParamSpec("P")
T = TypeVar("T")

# `InvalidCredentials.reason` (services/login.py) -> the login outcome.
_REFUSALS = {
    "wrong_password": "invalid_credentials",
    "account_changed": "invalid_credentials",
    "unknown_user": "unknown_account",
    "account_locked": "locked",
    "device_locked": "locked",
    "account_disabled": "disabled",
}
_CLIENT_REFUSALS = (InvalidClient, UnauthorizedClient, InvalidScope, InvalidTarget)


def login_outcome(exc: Exception) -> str:
    if isinstance(exc, InvalidCredentials):
        return _REFUSALS.get(exc.reason or "", "invalid_credentials")
    if isinstance(exc, RateLimited):
        return "throttled"
    if isinstance(exc, _CLIENT_REFUSALS):
        return "client_refused"
    if isinstance(exc, TemporarilyUnavailable):
        return "unavailable"
    return "error"


def refresh_outcome(exc: Exception) -> str:
    if isinstance(exc, RefreshTokenReused):
        return "reuse_detected"
    if isinstance(exc, InvalidRefreshToken):
        return "invalid"
    if isinstance(exc, _CLIENT_REFUSALS):
        return "client_refused"
    if isinstance(exc, TemporarilyUnavailable):
        return "unavailable"
    return "error"


def count_logins(
    func: Callable[Concatenate[Services, P], Awaitable[Login]],
) -> Callable[Concatenate[Services, P], Awaitable[Login]]:
    @functools.wraps(func)
    async def counted(svc: Services, /, *args: P.args, **kwargs: P.kwargs) -> Login:
        try:
            login = await func(svc, *args, **kwargs)
        except Exception as exc:
            svc.metrics.logins.inc(login_outcome(exc))
            raise
        svc.metrics.logins.inc("succeeded")
        return login

    return counted


def count_refreshes(
    func: Callable[Concatenate[Services, P], Awaitable[TokenPair]],
) -> Callable[Concatenate[Services, P], Awaitable[TokenPair]]:
    @functools.wraps(func)
    async def counted(svc: Services, /, *args: P.args, **kwargs: P.kwargs) -> TokenPair:
        try:
            pair = await func(svc, *args, **kwargs)
        except Exception as exc:
            svc.metrics.refreshes.inc(refresh_outcome(exc))
            raise
        svc.metrics.refreshes.inc("grace_replay" if pair.replayed else "rotated")
        return pair

    return counted
