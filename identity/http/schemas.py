"""Request and response shapes of the account, session and token endpoints."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from identity.bounds import DISPLAY_NAME_MAX, EMAIL_MAX
from identity.services.views import ProfileView, SessionView

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
        str,
        StringConstraints(strip_whitespace=True, max_length=DISPLAY_NAME_MAX),
        AfterValidator(_printable),
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


def profile(user: ProfileView) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "roles": list(user.roles),
        "created_at": iso(user.created_at),
        "last_login_at": iso(user.last_login_at),
        "password_changed_at": iso(user.password_changed_at),
    }


def session_out(view: SessionView) -> dict[str, Any]:
    return {
        "id": str(view.id),
        "current": view.current,
        "client_id": view.client_id,
        "scope": view.scope,
        "created_at": iso(view.created_at),
        "created_ip": view.created_ip,
        "created_user_agent": view.created_user_agent,
        "last_used_at": iso(view.last_used_at),
        "last_used_ip": view.last_used_ip,
        "last_used_user_agent": view.last_used_user_agent,
        "expires_at": iso(view.expires_at),
    }


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
