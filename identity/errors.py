"""Every error the service answers with: a stable snake_case `code`, a safe `description`,
optional `details`, and no HTTP. `identity/http/errors.py` maps each class to its status,
wire code and headers in one table (docs/architecture.md, "Errors").

`keep_changes = True` marks failures that must still commit their work (a failed-login
count, a lock, a reuse revocation, and their events) before the error reaches the client;
`db/uow.py` honours it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Detail:
    """One item of an error's `details`: what is wrong, and where (a field) or which rule."""

    message: str
    field: str | None = None
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("field", self.field), ("code", self.code)) if v is not None} | {
            "message": self.message
        }


class IdentityError(Exception):
    code: ClassVar[str] = "identity_error"
    description: ClassVar[str] = "The request could not be completed."
    keep_changes: ClassVar[bool] = False

    def __init__(self, description: str | None = None, *, details: Iterable[Detail] = ()) -> None:
        self.detail = description or self.description
        self.details = tuple(details)
        super().__init__(self.detail)


# -- the request itself ----------------------------------------------------------------


class InvalidRequest(IdentityError):
    """A parameter is missing, repeated or malformed."""

    code = "invalid_request"
    description = "The request is not valid."


class MalformedBody(IdentityError):
    code = "malformed_body"
    description = "The request body could not be parsed."


class UnsupportedMediaType(IdentityError):
    code = "unsupported_media_type"
    description = "The request body has the wrong content type."


class PayloadTooLarge(IdentityError):
    code = "payload_too_large"
    description = "The request body is too large."


class ValidationFailed(IdentityError):
    """The body does not match the schema; `details` names each field."""

    code = "validation_failed"
    description = "The request body is not valid."


class RateLimited(IdentityError):
    code = "rate_limited"
    description = "Too many requests; retry later."

    def __init__(self, retry_after: int, description: str | None = None) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(description)


class TemporarilyUnavailable(IdentityError):
    """The service cannot take this request now (overloaded); the client should retry after
    `retry_after` seconds. Nothing was decided."""

    code = "temporarily_unavailable"
    description = "The service is busy; retry shortly."

    def __init__(self, retry_after: int = 1, description: str | None = None) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(description)


class ServiceUnavailable(TemporarilyUnavailable):
    """A dependency the answer needs (the database) is unreachable, timed out or dropped the
    connection: nothing was decided, the client may retry after `retry_after` seconds."""

    description = "The service is temporarily unavailable; retry later."

    def __init__(self, retry_after: int = 5, description: str | None = None) -> None:
        super().__init__(retry_after, description)


class NotFound(IdentityError):
    code = "not_found"
    description = "No such resource."


# -- access tokens (RFC 6750 Bearer routes) --------------------------------------------


class AccessTokenMissing(IdentityError):
    """No credentials at all (RFC 6750 §3.1: the challenge carries no error code)."""

    code = "invalid_token"
    description = "An access token is required."


class AccessTokenRejected(IdentityError):
    """A malformed, forged or expired access token; `reason` (for logs and tests) says which."""

    code = "invalid_token"
    description = "The access token is missing, expired, revoked or malformed."

    def __init__(self, description: str | None = None, *, reason: str = "malformed") -> None:
        self.reason = reason
        super().__init__(description)


class InsufficientRole(IdentityError):
    """A valid token whose user lacks the role a route needs (decided from the user's row,
    never from the token's claims)."""

    code = "insufficient_role"
    description = "This operation needs a role the caller does not have."


class SessionEnded(AccessTokenRejected):
    """A valid access token whose session was revoked or expired, or whose user is gone."""

    description = "The session of this access token has ended."

    def __init__(self) -> None:
        super().__init__(reason="session_ended")


# -- accounts, login and sessions ------------------------------------------------------


class EmailTaken(IdentityError):
    code = "email_taken"
    description = "An account with this email already exists."


class WeakPassword(IdentityError):
    """`details` lists every policy rule the password breaks (a `code` and `message` each)."""

    code = "weak_password"
    description = "The password does not meet the password policy."


class InvalidCredentials(IdentityError):
    """Wrong password, unknown, locked or disabled account: one answer for all of them."""

    code = "invalid_credentials"
    description = "The email or password is wrong."
    keep_changes = True  # the failure count, a lock and their events must persist

    def __init__(self, description: str | None = None, *, reason: str | None = None) -> None:
        # Which refusal it was (`unknown_user`, `account_locked`...): for the event log and
        # the metrics only, never rendered (http/errors.py knows nothing of it).
        self.reason = reason
        super().__init__(description)


class WrongCurrentPassword(IdentityError):
    code = "invalid_current_password"
    description = "The current password is wrong."
    keep_changes = True  # counts toward lockout like a failed login


class PasswordChangeConflict(IdentityError):
    code = "password_change_conflict"
    description = "The password was changed by another request; sign in again."


class ClientNotFound(NotFound):
    code = "client_not_found"
    description = "No such client."


class UserNotFound(NotFound):
    code = "user_not_found"
    description = "No such user."


class SessionNotFound(NotFound):
    code = "session_not_found"
    description = "No such session."


class DeviceNotFound(NotFound):
    code = "device_not_found"
    description = "No such known device."


# -- the token endpoint (RFC 6749 §5.2) ------------------------------------------------


class UnsupportedGrantType(IdentityError):
    code = "unsupported_grant_type"
    description = "The authorization grant type is not supported."


class InvalidClient(IdentityError):
    """Unknown or disabled client, or client authentication failed (RFC 6749 §5.2)."""

    code = "invalid_client"
    description = "Client authentication failed."


class IntrospectionNotAllowed(IdentityError):
    """An authenticated client without the introspection permission (RFC 7662 §2.1)."""

    code = "unauthorized_client"
    description = "This client may not introspect tokens."


class UnauthorizedClient(IdentityError):
    """The client is not registered for this grant type."""

    code = "unauthorized_client"
    description = "The client is not allowed to use this grant type."


class InvalidTarget(IdentityError):
    """An audience (RFC 8707 `resource`, or `audience`) the client was not registered for."""

    code = "invalid_target"
    description = "The requested audience is invalid or not allowed for this client."


class InvalidScope(IdentityError):
    """Malformed, or more than the grant allows (RFC 6749 §3.3, §6)."""

    code = "invalid_scope"
    description = "The requested scope is invalid or unknown."


class InvalidRefreshToken(IdentityError):
    code = "invalid_refresh_token"
    description = "The refresh token is invalid, expired or revoked."


class RefreshTokenReused(IdentityError):
    code = "refresh_token_reused"
    description = "The refresh token was already used; the session has been ended."
    keep_changes = True  # the revocation and its event must persist


# -- availability ----------------------------------------------------------------------


class SigningKeysUnavailable(TemporarilyUnavailable):
    """This instance has no key set to publish yet (the database was unreachable when it
    started); it must not answer an empty set that verifiers and caches would keep."""

    description = "The signing keys are not available yet; retry later."
