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
