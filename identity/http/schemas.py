"""Request and response shapes of the account, session and token endpoints."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from identity.db.models import EMAIL_MAX, User, UserSession

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def _encodable(value: str) -> str:
    # JSON may carry lone surrogates ("\ud800"); they cannot be hashed or stored.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains invalid characters (unpaired surrogates)") from None
    return value


def _printable(value: str) -> str:
    _encodable(value)
    if any(unicodedata.category(c) in {"Cc", "Cf"} for c in value):
        raise ValueError("contains control characters")
    return value


def _email(value: str) -> str:
    value = _printable(value.strip())
    # The lower-cased form is what is stored as unique, and can be longer ("İ" is 2 chars).
    if max(len(value), len(value.lower())) > EMAIL_MAX or not _EMAIL.fullmatch(value):
        raise ValueError("is not an email address")
    return value


def _blank_is_none(value: str | None) -> str | None:
    return value or None


Email = Annotated[str, AfterValidator(_email)]
Password = Annotated[str, AfterValidator(_encodable)]
DisplayName = Annotated[
    Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_printable)
    ]
    | None,
    AfterValidator(_blank_is_none),
]


class RegisterIn(BaseModel):
    email: Email
    password: Password
    display_name: DisplayName = None


class ProfilePatch(BaseModel):
    display_name: DisplayName = None


class ChangePasswordIn(BaseModel):
    current_password: Annotated[Password, Field(min_length=1)]
    new_password: Password


class LogoutIn(BaseModel):
    scope: Literal["current", "others", "all"] = "current"


class RefreshIn(BaseModel):
    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


def profile(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "roles": list(user.roles or []),
        "created_at": _iso(user.created_at),
        "last_login_at": _iso(user.last_login_at),
        "password_changed_at": _iso(user.password_changed_at),
    }


def session_out(row: UserSession, *, current: bool) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "current": current,
        "client_id": row.client_id,
        "scope": row.scope,
        "created_at": _iso(row.created_at),
        "created_ip": row.created_ip,
        "created_user_agent": row.created_user_agent,
        "last_used_at": _iso(row.last_used_at),
        "last_used_ip": row.last_used_ip,
        "last_used_user_agent": row.last_used_user_agent,
        "expires_at": _iso(min(row.expires_at, row.idle_expires_at)),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
