"""Authorization that cannot be forged: a client is granted only the scopes it was registered
for, roles never become scopes, and a sibling's role-guarded route follows only what the
identity service decided (the regression test of the escalation the issue reported)."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from examples.sibling_service.app import create_app as create_sibling
from identity.errors import ValidationFailed
from identity.verifier import Verifier
from tests.conftest import make_settings
from tests.factories import (
    bearer,
    events,
    login,
    password_grant,
    register,
    register_client,
    sessions_of,
)
from tests.integration.conftest import BASE_URL, AppClient
from tests.integration.test_cli_users import identity_cli


async def roles(engine: AsyncEngine, *args: str) -> tuple[int, str, str]:
    """`identity users roles ...`, the real command, against the suite's database."""
    return await identity_cli(engine, "users", "roles", *args)


ESCALATIONS = ["role:admin orders:write", "role:admin", "admin", "orders:write", "read admin"]


@pytest.mark.parametrize("scope", ESCALATIONS)
async def test_a_scope_the_client_was_not_registered_for_gets_no_token(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession], scope: str
) -> None:
    user = await register(client)
    r = await password_grant(client, scope=scope)
    assert r.status_code == 400
    assert r.json() == {
        "error": "invalid_scope",
        "error_description": "The requested scope is invalid or unknown.",
    }
    assert r.headers["cache-control"] == "no-store"
    assert await sessions_of(sessionmaker, user["id"]) == []
    assert await events(sessionmaker, "login_succeeded") == []


async def test_role_scopes_cannot_even_be_registered(client: AppClient) -> None:
    with pytest.raises(ValidationFailed):
        await register_client(client.services, "sneaky", scopes=["orders:read", "role:admin"])
    with pytest.raises(ValidationError, match="reserved for roles"):
        make_settings(first_party_scopes=["role:admin"])


@pytest.fixture
def sibling(client: AppClient) -> httpx.AsyncClient:
    """The example sibling service, verifying against this identity app's real JWKS."""
    verifier = Verifier(
        client.settings.issuer,
        client.settings.audience,
        f"{BASE_URL}/.well-known/jwks.json",
        http_client=client,
    )
    transport = httpx.ASGITransport(app=create_sibling(verifier))
    return httpx.AsyncClient(transport=transport, base_url="http://orders.test")


async def test_the_siblings_admin_route_follows_only_roles_an_operator_granted(
    client: AppClient, engine: AsyncEngine, sibling: httpx.AsyncClient
) -> None:
    await register(client)
    await register_client(client.services, "orders-ui", scopes=["orders:read", "orders:write"])
    # The attack of the issue: ask for the role as a scope. No token at all.
    escalation = await password_grant(client, scope="role:admin orders:write")
    assert escalation.json()["error"] == "invalid_scope"

    user = await login(client, client_id="orders-ui", scope="orders:read orders:write")
    refused = await sibling.get("/admin/orders", headers=bearer(user))
    assert (refused.status_code, refused.json()["error"]) == (403, "insufficient_role")
    me = (await sibling.get("/whoami", headers=bearer(user))).json()
    assert me["scopes"] == ["orders:read", "orders:write"]
    assert me["roles"] == []

    code, out, err = await identity_cli(
        engine, "users", "roles", "add", "Alice@example.com", "admin"
    )
    assert (code, out.strip()) == (0, "alice@example.com: roles admin"), err
    admin = await login(client, client_id="orders-ui", scope="orders:read")
    assert (await sibling.get("/admin/orders", headers=bearer(admin))).status_code == 200
    me = (await sibling.get("/whoami", headers=bearer(admin))).json()
    assert me["roles"] == ["admin"]
    assert not any(scope.startswith("role:") for scope in me["scopes"])
    # /me shows what the token carries; the old token (no role) still gets nothing.
    assert (await client.get("/me", headers=bearer(admin))).json()["roles"] == ["admin"]
    assert (await sibling.get("/admin/orders", headers=bearer(user))).status_code == 403

    code, out, _ = await identity_cli(
        engine, "users", "roles", "remove", "alice@example.com", "admin"
    )
    assert (code, out.strip()) == (0, "alice@example.com: roles (none)")
    later = await login(client)
    assert (await sibling.get("/admin/orders", headers=bearer(later))).status_code == 403


async def test_role_changes_are_events_naming_the_role(
    client: AppClient, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client)
    code, _, err = await identity_cli(
        engine, "users", "roles", "add", "alice@example.com", "Admin!"
    )
    assert code == 2
    assert "a role is" in err
    assert "Traceback" not in err
    await roles(engine, "add", "alice@example.com", "ops")
    (event,) = await events(sessionmaker, "role_granted")
    assert (event.data, event.user_agent) == ({"role": "ops"}, "identity-cli")
