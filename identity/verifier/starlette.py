"""Starlette (and FastAPI) integration: bearer authentication per RFC 6750.

    app = Starlette(
        routes=...,
        middleware=[bearer_auth(verifier, realm="orders")],
        exception_handlers=bearer_exception_handlers(),
    )

`request.user` is a `TokenUser` (or Starlette's `UnauthenticatedUser`); `request.auth.scopes`
holds "authenticated" and the scopes the identity service granted, and nothing else, so
Starlette's `@requires("orders:read")` checks granted scopes only. Roles are never scopes:
check them with `@requires_roles("admin")` or `require_roles("admin")`. `current_user`,
`optional_user`, `require_scopes(...)` and `require_roles(...)` take only a `Request`, so
FastAPI accepts them as dependencies (`Depends(current_user)`) as they are.
https://www.rfc-editor.org/rfc/rfc6750#section-3
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
    UnauthenticatedUser,
)
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from identity.verifier import InvalidToken, JWKSUnavailable, VerifiedToken, Verifier
from identity.verifier.bearer import challenge

__all__ = [
    "BearerAuthBackend",
    "BearerAuthError",
    "BearerCredentials",
    "RoleRequired",
    "TokenUser",
    "bearer_auth",
    "bearer_exception_handlers",
    "challenge",
    "current_user",
    "on_auth_error",
    "optional_user",
    "require_roles",
    "require_scopes",
    "requires_roles",
]

_RETRY_AFTER_SECONDS = 5
_REQUIRED = "a bearer access token is required"


class TokenUser(BaseUser):
    """The authenticated caller: the verified token, under `request.user.token`."""

    def __init__(self, token: VerifiedToken) -> None:
        self.token = token

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.token.sub

    @property
    def identity(self) -> str:
        return self.token.sub


class BearerCredentials(AuthCredentials):
    """Starlette's scopes plus the realm, so later challenges name the same realm."""

    def __init__(self, scopes: list[str], realm: str | None) -> None:
        super().__init__(scopes)
        self.realm = realm


class BearerAuthError(AuthenticationError):
    """A refused request, rendered by `on_auth_error`."""

    def __init__(
        self, status_code: int, error: str, description: str, headers: dict[str, str]
    ) -> None:
        self.status_code = status_code
        self.error = error
        self.description = description
        self.headers = headers
        super().__init__(description)


class BearerAuthBackend(AuthenticationBackend):
    """Verifies `Authorization: Bearer <token>` with a `Verifier`.

    No Authorization header (or another scheme) means an anonymous caller; a bearer token
    that fails verification is a 401 at once, even on routes that allow anonymous callers,
    because the client believes it is authenticated and must learn otherwise.
    """

    def __init__(self, verifier: Verifier, *, realm: str | None = None) -> None:
        self.verifier = verifier
        self.realm = realm

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser]:
        header = conn.headers.get("authorization")
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer":
            return BearerCredentials([], self.realm), UnauthenticatedUser()
        token = token.strip()
        if not token or " " in token:
            raise BearerAuthError(
                400,
                "invalid_request",
                "the Authorization header is not 'Bearer <token>'",
                {"WWW-Authenticate": challenge(self.realm, "invalid_request")},
            )
        try:
            verified = await self.verifier.verify(token)
        except InvalidToken as exc:
            raise BearerAuthError(
                401,
                exc.error,
                exc.description,
                {"WWW-Authenticate": challenge(self.realm, exc.error, exc.description)},
            ) from exc
        except JWKSUnavailable as exc:
            # Not the client's fault and not a challenge: ask it to retry shortly.
            raise BearerAuthError(
                503,
                exc.error,
                "the token cannot be checked right now",
                {"Retry-After": str(_RETRY_AFTER_SECONDS)},
            ) from exc
        # Granted scopes only: a role is the user's, decided by the identity service, and
        # must never be satisfiable by a scope a client asked for.
        return BearerCredentials(["authenticated", *verified.scopes], self.realm), TokenUser(
            verified
        )


def on_auth_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    """`on_error` for AuthenticationMiddleware: the `{error, error_description}` envelope."""
    if isinstance(exc, BearerAuthError):
        body = {"error": exc.error, "error_description": exc.description}
        return JSONResponse(body, exc.status_code, headers=exc.headers)
    return PlainTextResponse(str(exc), status_code=400)  # another backend's error


def bearer_auth(verifier: Verifier, *, realm: str | None = None) -> Middleware:
    """The AuthenticationMiddleware entry for `Starlette(middleware=[...])`."""
    backend = BearerAuthBackend(verifier, realm=realm)
    return Middleware(AuthenticationMiddleware, backend=backend, on_error=on_auth_error)


# -- helpers (also FastAPI dependencies) --------------------------------------------------


async def optional_user(request: Request) -> VerifiedToken | None:
    """The verified token of the caller, or None for an anonymous caller."""
    if "user" not in request.scope:
        raise RuntimeError("identity.verifier.starlette needs bearer_auth() in the middleware")
    user = request.scope["user"]
    return user.token if isinstance(user, TokenUser) else None


async def current_user(request: Request) -> VerifiedToken:
    """The verified token of the caller; 401 with a Bearer challenge when anonymous."""
    token = await optional_user(request)
    if token is None:
        # RFC 6750 §3.1: no credentials at all gets a challenge without an error code.
        raise HTTPException(401, _REQUIRED, {"WWW-Authenticate": challenge(_realm(request))})
    return token


def require_scopes(*scopes: str) -> Callable[[Request], Awaitable[VerifiedToken]]:
    """A dependency: the caller's token if it grants every one of `scopes`, else 401/403."""
    needed = " ".join(scopes)

    async def dependency(request: Request) -> VerifiedToken:
        token = await current_user(request)
        if not token.has_scopes(*scopes):
            header = challenge(
                _realm(request), "insufficient_scope", "the token lacks a required scope", needed
            )
            raise HTTPException(
                403, "the token lacks a required scope", {"WWW-Authenticate": header}
            )
        return token

    return dependency


class RoleRequired(HTTPException):
    """403 for a caller without a required role (rendered as `insufficient_role`)."""

    def __init__(self) -> None:
        super().__init__(403, "the token lacks a required role")


def require_roles(*roles: str) -> Callable[[Request], Awaitable[VerifiedToken]]:
    """A dependency: the caller's token if its user holds every one of `roles`, else 401/403.

    Roles come from the token's `roles` claim, which only the identity service sets.
    """

    async def dependency(request: Request) -> VerifiedToken:
        token = await current_user(request)
        if not token.has_roles(*roles):
            raise RoleRequired
        return token

    return dependency


EndpointT = Callable[..., Any]


def requires_roles(*roles: str) -> Callable[[EndpointT], EndpointT]:
    """`@requires_roles("admin")` on a Starlette endpoint: 401 when anonymous, 403 without the
    roles (like Starlette's `@requires`, which checks scopes)."""
    check = require_roles(*roles)

    def decorate(endpoint: EndpointT) -> EndpointT:
        @functools.wraps(endpoint)
        async def guarded(request: Request, *args: Any, **kwargs: Any) -> Any:
            await check(request)
            if inspect.iscoroutinefunction(endpoint):
                return await endpoint(request, *args, **kwargs)
            return await run_in_threadpool(endpoint, request, *args, **kwargs)

        return guarded

    return decorate


# -- rendering ---------------------------------------------------------------------------


def bearer_exception_handlers() -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
    """Exception handlers that give 401/403 answers the envelope and a Bearer challenge.

    They cover `current_user`/`require_scopes` and Starlette's `@requires`: its 403 for an
    anonymous caller becomes the 401 RFC 6750 asks for; for an authenticated one it
    becomes `insufficient_scope` (behind bearer auth a 403 means the token grants too
    little). HTTPExceptions that already carry a challenge keep it.
    """
    return {401: _render_auth_exception, 403: _render_auth_exception}


async def _render_auth_exception(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # pragma: no cover - Starlette routes only these
        raise exc
    realm = _realm(request)
    detail = str(exc.detail)
    if not isinstance(request.scope.get("user"), TokenUser):
        # No credentials: RFC 6750 §3.1 wants 401 and a challenge without an error code.
        status, error, detail, default = 401, "invalid_token", _REQUIRED, challenge(realm)
    elif isinstance(exc, RoleRequired):
        # Not an OAuth failure (more scope would not help): a plain 403, no challenge.
        return JSONResponse({"error": "insufficient_role", "error_description": detail}, 403)
    elif exc.status_code == 403:
        status, error = 403, "insufficient_scope"
        default = challenge(realm, error, detail)
    else:
        status, error = exc.status_code, "invalid_token"
        default = challenge(realm, error, detail)
    headers = dict(exc.headers or {})
    headers.setdefault("WWW-Authenticate", default)
    return JSONResponse({"error": error, "error_description": detail}, status, headers=headers)


def _realm(request: Request) -> str | None:
    auth = request.scope.get("auth")
    return auth.realm if isinstance(auth, BearerCredentials) else None
