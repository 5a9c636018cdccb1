"""Regressions from the second attacker's review (the admin API, cleanup, observability,
/docs and the CLI that landed together): each test failed before its fix."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.services import user_admin
from identity.services.origin import Origin
from tests.factories import PASSWORD, events, register
from tests.integration.admin_support import make_admin
from tests.integration.conftest import AppClient

NOT_A_CURSOR = [{"field": "cursor", "message": "is not a cursor this service returned"}]


def forged_cursor(key: list[str]) -> str:
    """A cursor built as the service builds them, around a key it never returned."""
    raw = json.dumps(key).encode()  # ASCII, escapes included: "\ud800", "\u0000"
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize("text", ["\ud800", "\u0000", "billing\u0000"])
async def test_a_client_cursor_with_text_no_client_id_can_hold_is_422(
    client: AppClient, text: str
) -> None:
    # A lone surrogate cannot be encoded for either database, and PostgreSQL refuses NUL
    # bytes in text: both reached the client list query and were a 500.
    _, headers = await make_admin(client)
    r = await client.get(
        "/admin/clients", params={"cursor": forged_cursor([text])}, headers=headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["details"] == NOT_A_CURSOR


@pytest.mark.parametrize(
    "path", ["/admin/users", "/admin/users/{me}/sessions", "/admin/users/{me}/devices"]
)
@pytest.mark.parametrize("instant", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
async def test_a_cursor_instant_beyond_utc_is_422(
    client: AppClient, path: str, instant: str
) -> None:
    # Valid ISO 8601, but its UTC equivalent is outside the years datetime can hold: the
    # conversion for the query raised OverflowError, a 500.
    me, headers = await make_admin(client)
    cursor = forged_cursor([instant, str(uuid.uuid4())])
    r = await client.get(path.format(me=me), params={"cursor": cursor}, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["details"] == NOT_A_CURSOR


async def test_an_account_created_from_the_command_line_names_no_actor(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # `identity users create-admin` passes actor_id=None (the CLI has no actor, as every
    # other CLI action records). The creation used to name the new account as its own
    # actor: an audit read as "this administrator made itself".
    view = await user_admin.create_user(
        client.services, email="ops@example.com", password=PASSWORD, display_name=None,
        roles=["admin"], actor_id=None, origin=Origin.command_line(),
    )  # fmt: skip
    (event,) = await events(sessionmaker, "user_created_by_admin")
    assert (event.user_id, event.actor_id, event.user_agent) == (view.id, None, "identity-cli")

    # A registration is still the user's own act.
    await register(client, "self@example.com")
    (registered,) = await events(sessionmaker, "user_registered")
    assert registered.actor_id == registered.user_id is not None
