"""Domain errors: a stable snake_case `code`, a safe `description`, and no HTTP.

`keep_changes = True` marks failures that must still commit their work (a failed-login
count, a lock, a reuse revocation, and their events) before the error reaches the client;
`db/uow.py` honours it. The HTTP layer maps each error to a status in one table.
"""

from __future__ import annotations

from typing import Any, ClassVar


class IdentityError(Exception):
    code: ClassVar[str] = "identity_error"
    description: ClassVar[str] = "The request could not be completed."
    keep_changes: ClassVar[bool] = False

    def __init__(self, description: str | None = None, **details: Any) -> None:
        self.detail = description or self.description
        self.details = details
        super().__init__(self.detail)


class ValidationFailed(IdentityError):
    code = "validation_failed"
    description = "The request body is not valid."


class NotFound(IdentityError):
    code = "not_found"
    description = "No such resource."


# -- accounts, login and sessions ------------------------------------------------------


class EmailTaken(IdentityError):
    code = "email_taken"
    description = "An account with this email already exists."


class WeakPassword(IdentityError):
    """`reasons` lists every policy rule the password breaks ({code, message} each)."""

    code = "weak_password"
    description = "The password does not meet the password policy."


class InvalidCredentials(IdentityError):
    """Wrong password, unknown, locked or disabled account: one answer for all of them."""

    code = "invalid_credentials"
    description = "The email or password is wrong."
    keep_changes = True  # the failure count, a lock and their events must persist


class WrongCurrentPassword(IdentityError):
    code = "invalid_current_password"
    description = "The current password is wrong."
    keep_changes = True  # counts toward lockout like a failed login


class PasswordChangeConflict(IdentityError):
    code = "password_change_conflict"
    description = "The password was changed by another request; sign in again."


class InvalidRefreshToken(IdentityError):
    code = "invalid_refresh_token"
    description = "The refresh token is invalid, expired or revoked."


class RefreshTokenReused(IdentityError):
    code = "refresh_token_reused"
    description = "The refresh token was already used; the session has been ended."
    keep_changes = True  # the revocation and its event must persist


class ScopeNotGranted(IdentityError):
    code = "invalid_scope"
    description = "The requested scope exceeds the scope originally granted."


class SessionEnded(IdentityError):
    code = "session_ended"
    description = "The session of this access token has ended."


class SessionNotFound(NotFound):
    code = "session_not_found"
    description = "No such session."
