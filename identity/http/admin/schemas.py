"""Request and response shapes of the admin API over users, sessions and known devices.

Responses are built from the services' admin views, which hold nothing secret: no password
hash and no device-token digest can reach a response.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from identity.http.schemas import DisplayName, Email, Password, iso
from identity.services.admin_views import AdminSessionView, AdminUserView, DeviceView

Role = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.:-]{0,63}$")]


class CreateUserIn(BaseModel):
    email: Email
    password: Password
    display_name: DisplayName = None
    roles: Annotated[list[Role], Field(max_length=32)] = []


def admin_user(view: AdminUserView) -> dict[str, Any]:
    lock = view.lock
    return {
        "id": str(view.id),
        "email": view.email,
        "display_name": view.display_name,
        "roles": list(view.roles),
        "disabled": view.disabled,
        "created_at": iso(view.created_at),
        "last_login_at": iso(view.last_login_at),
        "password_changed_at": iso(view.password_changed_at),
        "failed_login_count": view.failed_login_count,
        "lock": {
            "locked": lock.locked,
            "account_locked_at": iso(lock.account_locked_at),
            "reason": lock.reason,
            "locked_devices": lock.locked_devices,
        },
        "live_sessions": view.live_sessions,
        "known_devices": view.known_devices,
    }


def admin_session(view: AdminSessionView) -> dict[str, Any]:
    return {
        "id": str(view.id),
        "status": view.status,
        "client_id": view.client_id,
        "scope": view.scope,
        "audience": view.audience,
        "created_at": iso(view.created_at),
        "created_ip": view.created_ip,
        "created_user_agent": view.created_user_agent,
        "last_used_at": iso(view.last_used_at),
        "last_used_ip": view.last_used_ip,
        "last_used_user_agent": view.last_used_user_agent,
        "expires_at": iso(view.expires_at),
        "revoked_at": iso(view.revoked_at),
        "revoke_reason": view.revoke_reason,
    }


def device(view: DeviceView) -> dict[str, Any]:
    return {
        "id": str(view.id),
        "created_at": iso(view.created_at),
        "expires_at": iso(view.expires_at),
        "last_used_at": iso(view.last_used_at),
        "last_used_ip": view.last_used_ip,
        "last_used_user_agent": view.last_used_user_agent,
        "failed_login_count": view.failed_login_count,
        "locked_at": iso(view.locked_at),
    }
