"""Every error response is rendered here, in one envelope: `{error, error_description}`.

- `/token`, `/revoke`, `/introspect`: RFC 6749 §5.2 bodies with no-store headers
  (https://www.rfc-editor.org/rfc/rfc6749#section-5.2), modelled on authlib's OAuth2Error.
- Bearer-protected routes: RFC 6750 §3 (`WWW-Authenticate: Bearer error="..."`).
- Everything else: our stable snake_case codes, field details for validation errors.
- Anything unexpected: 500 with a request id; the cause goes to the log, never the client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar, cast

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identity.errors import (
    EmailTaken,
    IdentityError,
    NotFound,
    PasswordChangeConflict,
    ValidationFailed,
    WeakPassword,
)

logger = logging.getLogger("identity.http")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class ApiError(Exception):
    """An error that knows its HTTP rendering."""

    status_code: ClassVar[int] = 400
    error: ClassVar[str] = "invalid_request"
    description: ClassVar[str] = "The request is not valid."

    def __init__(
        self,
        description: str | None = None,
        *,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.error_description = description or self.description
        self.details = details
        self.extra_headers = dict(headers or {})
        super().__init__(self.error_description)

    def get_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error, "error_description": self.error_description}
        if self.details is not None:
            body["details"] = self.details
        return body

    def get_headers(self) -> dict[str, str]:
        return dict(self.extra_headers)

    def response(self) -> JSONResponse:
        return JSONResponse(self.get_body(), self.status_code, headers=self.get_headers())


# -- generic API errors ----------------------------------------------------------------


class BadRequest(ApiError):
    error = "invalid_request"


class MalformedBody(ApiError):
    error = "malformed_body"
    description = "The request body could not be parsed."


class UnsupportedMediaType(ApiError):
    status_code = 415
    error = "unsupported_media_type"
    description = "The request body has the wrong content type."


class PayloadTooLarge(ApiError):
    status_code = 413
    error = "payload_too_large"
    description = "The request body is too large."


class RequestValidationFailed(ApiError):
    status_code = 422
    error = "validation_failed"
    description = "The request body is not valid."


class TooManyRequests(ApiError):
    status_code = 429
    error = "rate_limited"
    description = "Too many requests; retry later."

    def __init__(self, retry_after: int, description: str | None = None) -> None:
        super().__init__(description, headers={"Retry-After": str(max(1, retry_after))})


# -- RFC 6749 §5.2 ---------------------------------------------------------------------


class OAuthError(ApiError):
    """Token-endpoint error: exactly error / error_description, never cached."""

    def get_body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.error_description}

    def get_headers(self) -> dict[str, str]:
        return {**NO_STORE, **self.extra_headers}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidGrant(OAuthError):
    error = "invalid_grant"
    description = "The provided authorization grant is invalid, expired or revoked."


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"
    description = "The authorization grant type is not supported."


class InvalidScope(OAuthError):
    error = "invalid_scope"
    description = "The requested scope is invalid or unknown."


class InvalidClient(OAuthError):
    status_code = 401
    error = "invalid_client"
    description = "Client authentication failed."

    def get_headers(self) -> dict[str, str]:
        return {**super().get_headers(), "WWW-Authenticate": 'Basic realm="identity"'}


# -- RFC 6750 §3 -----------------------------------------------------------------------


class BearerError(ApiError):
    def get_headers(self) -> dict[str, str]:
        # The description is ours and plain ASCII without quotes, so it is safe in the header.
        challenge = f'Bearer realm="identity", error="{self.error}"'
        if self.status_code != 401 or self.error != "invalid_request":
            challenge += f', error_description="{self.error_description}"'
        return {**NO_STORE, **self.extra_headers, "WWW-Authenticate": challenge}


class InvalidToken(BearerError):
    status_code = 401
    error = "invalid_token"
    description = "The access token is missing, expired, revoked or malformed."


class InsufficientScope(BearerError):
    status_code = 403
    error = "insufficient_scope"
    description = "The access token does not grant the required scope."


# -- mapping domain errors -------------------------------------------------------------

# Domain errors outside the token endpoint: code comes from the error, status from here.
DOMAIN_STATUS: dict[type[IdentityError], int] = {
    ValidationFailed: 422,
    NotFound: 404,
    EmailTaken: 409,
    WeakPassword: 422,
    PasswordChangeConflict: 409,
}


def status_for(exc: IdentityError) -> int:
    for cls in type(exc).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 400


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    return cast(ApiError, exc).response()


async def handle_domain_error(request: Request, exc: Exception) -> Response:
    exc = cast(IdentityError, exc)
    body: dict[str, Any] = {"error": exc.code, "error_description": exc.detail}
    if exc.details:
        body["details"] = exc.details
    return JSONResponse(body, status_for(exc))


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
    headers = {**NO_STORE, **({"X-Request-ID": request_id} if request_id else {})}
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
    ApiError: handle_api_error,
    IdentityError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
