"""The admin routes' path and query parameters: ids that are not UUIDs are the 404 of their
kind (nothing can have such an id), malformed filters a 422 naming the parameter."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping

from starlette.requests import Request

from identity.bounds import EMAIL_MAX
from identity.errors import Detail, IdentityError, UserNotFound, ValidationFailed


def path_id(request: Request, name: str, missing: type[IdentityError] = UserNotFound) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params[name])
    except ValueError:
        raise missing from None


def flag(query: Mapping[str, str], name: str) -> bool | None:
    """`true` or `false`; None when absent."""
    value = query.get(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise ValidationFailed(
            "The query is not valid.", details=[Detail("must be true or false", field=name)]
        )
    return value == "true"


def text(query: Mapping[str, str], name: str, *, max_length: int = EMAIL_MAX) -> str | None:
    """A printable string of at most `max_length` characters; None when absent or empty."""
    value = query.get(name)
    if not value:
        return None
    if len(value) > max_length or any(unicodedata.category(c) in {"Cc", "Cf", "Cs"} for c in value):
        raise ValidationFailed(
            "The query is not valid.",
            details=[Detail(f"must be printable, at most {max_length} characters", field=name)],
        )
    return value
