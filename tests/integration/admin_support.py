"""Helpers of the admin API tests: an administrator's token, a plain user's, and the routes."""

from __future__ import annotations

import base64
import json
from typing import Any

from identity.services import user_admin
from identity.services.origin import Origin
from tests.factories import bearer, login, register
from tests.integration.conftest import AppClient

ADMIN_EMAIL = "root@example.com"


async def make_admin(client: AppClient, email: str = ADMIN_EMAIL) -> tuple[str, dict[str, str]]:
    """A fresh account given the admin role (as the CLI would), signed in: its id and headers."""
    profile = await register(client, email)
    await user_admin.change_role(
        client.services, email, "admin", grant=True, actor_id=None, origin=Origin()
    )
    return profile["id"], bearer(await login(client, email))


async def make_user(client: AppClient, email: str) -> tuple[str, dict[str, str]]:
    """A plain account, signed in: its id and headers."""
    profile = await register(client, email)
    return profile["id"], bearer(await login(client, email))


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    result: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return result


# Every admin route of this module, as (method, path template, JSON body).
ADMIN_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/admin/users", None),
    ("POST", "/admin/users", {"email": "new@example.com", "password": "a fine long passphrase 9"}),
    ("GET", "/admin/users/{user}", None),
    ("DELETE", "/admin/users/{user}", None),
    ("POST", "/admin/users/{user}/unlock", None),
    ("POST", "/admin/users/{user}/disable", None),
    ("POST", "/admin/users/{user}/enable", None),
    ("PUT", "/admin/users/{user}/roles/auditor", None),
    ("DELETE", "/admin/users/{user}/roles/auditor", None),
    ("GET", "/admin/users/{user}/sessions", None),
    ("DELETE", "/admin/users/{user}/sessions", None),
    ("DELETE", "/admin/users/{user}/sessions/{session}", None),
    ("GET", "/admin/users/{user}/devices", None),
    ("DELETE", "/admin/users/{user}/devices/{device}", None),
]
