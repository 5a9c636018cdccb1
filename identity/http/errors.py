"""Every error response is rendered here, from one table: error class → status, wire code,
headers. The body is always `{error, error_description}` (plus `details` where there are).

Two dialects, chosen by the path:
- the OAuth endpoints (`OAUTH_PATHS`) speak RFC 6749 §5.2: exactly `error` and
  `error_description`, never cached, request-shape errors of every kind are
  `invalid_request`, every refused grant is the same `invalid_grant`
  (https://www.rfc-editor.org/rfc/rfc6749#section-5.2);
- everything else uses our own codes; Bearer failures carry an RFC 6750 §3 challenge.
Anything unexpected: 500 with a request id; the cause goes to the log, never the client.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identity.errors import (
    AccessTokenMissing,
    AccessTokenRejected,
    EmailTaken,
    IdentityError,
    InsufficientRole,
    IntrospectionNotAllowed,
    InvalidClient,
    InvalidCredentials,
    InvalidRefreshToken,
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    MalformedBody,
    NotFound,
    PasswordChangeConflict,
    PayloadTooLarge,
    RateLimited,
    RefreshTokenReused,
    ServiceUnavailable,
    SigningKeysUnavailable,
    TemporarilyUnavailable,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedMediaType,
    ValidationFailed,
    WeakPassword,
    WrongCurrentPassword,
)
from identity.http.security_headers import SECURITY_HEADERS
from identity.verifier.bearer import challenge

logger = logging.getLogger("identity.http")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The endpoints that answer in RFC 6749 §5.2 (and are never cached, whatever the status).
OAUTH_PATHS = frozenset({"/token", "/refresh", "/revoke", "/introspect"})
REALM = "identity"


@dataclass(frozen=True)
class Answer:
    """How one error class is rendered."""

    status: int
    code: str | None = None  # the wire code; default: the error's own
    description: str | None = None  # a fixed wire text, hiding which cause it was
    # "bearer" (RFC 6750 §3), "bearer-no-error" (§3.1) or "basic" (RFC 6749 §5.2 invalid_client)
    challenge: str | None = None
    details_under: str | None = None  # weak_password nests its list under "reasons"
    no_store: bool = False  # never cached, whatever the path


_GRANT_REFUSED = Answer(
    400, "invalid_grant", "The provided authorization grant is invalid, expired or revoked."
)
_REQUEST_SHAPE = Answer(400, "invalid_request")

# Everywhere (the token endpoints consult OAUTH_ANSWERS first).
ANSWERS: dict[type[IdentityError], Answer] = {
    InvalidRequest: Answer(400),
    MalformedBody: Answer(400),
    UnsupportedMediaType: Answer(415),
    PayloadTooLarge: Answer(413),
    ValidationFailed: Answer(422),
    RateLimited: Answer(429),
    TemporarilyUnavailable: Answer(503),
    # The database is unreachable: never a 500, never a decision taken without it.
    ServiceUnavailable: Answer(503),
    NotFound: Answer(404),
    AccessTokenMissing: Answer(401, challenge="bearer-no-error"),
    AccessTokenRejected: Answer(401, challenge="bearer"),
    EmailTaken: Answer(409),
    WeakPassword: Answer(422, details_under="reasons"),
    WrongCurrentPassword: Answer(400),
    PasswordChangeConflict: Answer(409),
    InvalidClient: Answer(401, challenge="basic"),
    IntrospectionNotAllowed: Answer(403),
    InsufficientRole: Answer(403, no_store=True),
    # Raised by the token endpoints, which answer them through OAUTH_ANSWERS.
    UnauthorizedClient: Answer(400),
    InvalidTarget: Answer(400),
    UnsupportedGrantType: Answer(400),
    InvalidScope: Answer(400),
    InvalidCredentials: Answer(400),
    InvalidRefreshToken: Answer(400),
    RefreshTokenReused: Answer(400),
    SigningKeysUnavailable: Answer(503, no_store=True),
}

OAUTH_ANSWERS: dict[type[IdentityError], Answer] = {
    InvalidRequest: _REQUEST_SHAPE,
    MalformedBody: _REQUEST_SHAPE,
    UnsupportedMediaType: _REQUEST_SHAPE,
    ValidationFailed: _REQUEST_SHAPE,
    InvalidCredentials: _GRANT_REFUSED,
    InvalidRefreshToken: _GRANT_REFUSED,
    RefreshTokenReused: _GRANT_REFUSED,
}


def answer_for(exc: IdentityError, *, oauth: bool) -> Answer:
    """The most specific answer for `exc`; the token endpoints' own table first."""
    for cls in type(exc).__mro__:
        if oauth and cls in OAUTH_ANSWERS:
            return OAUTH_ANSWERS[cls]
        if cls in ANSWERS:
            return ANSWERS[cls]
    raise LookupError(f"no answer for {type(exc).__name__}: add it to identity/http/errors.py")


def error_response(exc: IdentityError, path: str) -> JSONResponse:
    """The one rendering of an `IdentityError` at `path`."""
    oauth = path in OAUTH_PATHS
    answer = answer_for(exc, oauth=oauth)
    code = answer.code or exc.code
    description = answer.description or exc.detail
    body: dict[str, Any] = {"error": code, "error_description": description}
    if exc.details and not oauth:
        items = [d.as_dict() for d in exc.details]
        body["details"] = {answer.details_under: items} if answer.details_under else items
    headers = dict(NO_STORE) if oauth or answer.challenge or answer.no_store else {}
    if answer.challenge == "bearer":
        headers["WWW-Authenticate"] = challenge(REALM, code, description)
    elif answer.challenge == "bearer-no-error":
        headers["WWW-Authenticate"] = challenge(REALM)
    elif answer.challenge == "basic":
        headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
    if isinstance(exc, RateLimited | TemporarilyUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(body, answer.status, headers=headers)


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def handle_identity_error(request: Request, exc: Exception) -> Response:
    return error_response(cast(IdentityError, exc), request.url.path)


_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Routing errors (404, 405) raised by Starlette itself, in the same envelope."""
    exc = cast(HTTPException, exc)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    description = {
        404: "No such endpoint.",
        405: "This method is not allowed on this endpoint.",
    }.get(exc.status_code, str(exc.detail))
    return JSONResponse(
        {"error": code, "error_description": description},
        exc.status_code,
        headers=dict(exc.headers or {}),
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    request_id = request_id_of(request)
    logger.error("unhandled error", exc_info=exc, extra={"request_id": request_id})
    # Written outside every user middleware (ServerErrorMiddleware): add what they would.
    headers = {
        **NO_STORE,
        **SECURITY_HEADERS,
        **({"X-Request-ID": request_id} if request_id else {}),
    }
    return JSONResponse(
        {
            "error": "internal_error",
            "error_description": "An unexpected error occurred.",
            "request_id": request_id,
        },
        500,
        headers=headers,
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    IdentityError: handle_identity_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
