"""Regressions for what an attacker's review of the registered-clients change found: each
test was written to expect the secure behaviour, failed against the code as it was, and
holds since the fix."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.errors import ValidationFailed
from identity.services.client_admin import ClientSpec, set_client_disabled, update_client
from identity.services.clients import check_client_id
from identity.services.origin import Origin
from tests.factories import (
    PASSWORD,
    bearer,
    login,
    register,
    register_client,
    sessions_of,
)
from tests.integration.conftest import AppClient


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    result: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return result


async def refresh(client: AppClient, token: str, **extra: Any) -> Any:
    auth = extra.pop("auth", None)
    return await client.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": token, **extra}, auth=auth
    )


# -- F1: an audience removed from a client keeps being minted at refresh ---------------------


async def test_refresh_does_not_keep_an_audience_the_client_lost(client: AppClient) -> None:
    """Operator removes `payments` from client `mobile`; its existing sessions should stop
    getting `aud=payments` tokens (scopes ARE dropped in the same situation)."""
    await register(client)
    await register_client(
        client.services, "mobile", audiences=["orders", "payments"], scopes=["read", "pay"]
    )
    tokens = await login(client, client_id="mobile", audience="payments", scope="read pay")
    assert claims_of(tokens["access_token"])["aud"] == "payments"

    await update_client(
        client.services, "mobile", ClientSpec(audiences=["orders"], scopes=["read"]),
        actor_id=None, origin=Origin(),
    )  # fmt: skip
    r = await refresh(client, tokens["refresh_token"], client_id="mobile")
    # No audience narrower than the session's exists: the session cannot go on.
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


async def test_refresh_ignores_a_requested_audience_silently(client: AppClient) -> None:
    """RFC 8707 §2.2: a `resource`/`audience` at refresh the server will not honour should be
    `invalid_target`, not a 200 carrying another audience than asked for."""
    await register(client)
    await register_client(client.services, "mobile", audiences=["orders", "payments"])
    tokens = await login(client, client_id="mobile", audience="orders")
    r = await refresh(client, tokens["refresh_token"], client_id="mobile", audience="payments")
    assert (r.status_code, r.json()["error"]) == (400, "invalid_target")
    same = await refresh(client, tokens["refresh_token"], client_id="mobile", audience="orders")
    assert claims_of(same.json()["access_token"])["aud"] == "orders"


# -- F2: a malformed RFC 8707 resource is a 500 ----------------------------------------------


@pytest.mark.parametrize("resource", ["http://[::1", "https://[orders.example]/x", "a://[v1.x"])
async def test_malformed_resource_is_invalid_target_not_500(
    make_client: Any, resource: str
) -> None:
    client = await make_client(raise_app_exceptions=False)
    await register(client)
    r = await client.post(
        "/token",
        data={"grant_type": "password", "username": "alice@example.com",
              "password": PASSWORD, "resource": resource},
    )  # fmt: skip
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.json()["error"] == "invalid_target"


async def test_malformed_resource_client_credentials_not_500(make_client: Any) -> None:
    client = await make_client(raise_app_exceptions=False)
    secret = await register_client(client.services, "billing", confidential=True)
    r = await client.post(
        "/token",
        data={"grant_type": "client_credentials", "resource": "http://[::1"},
        auth=("billing", str(secret)),
    )
    assert r.status_code == 400, (r.status_code, r.text)


# -- F4: client ids that parse as UUIDs ------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    ["urn:uuid:{u}", "uuid:{u}", "urn:{u}", "{h0}-{h1}"],
)
def test_a_client_id_never_parses_as_a_uuid(spelling: str) -> None:
    """docs/security.md: 'Client ids may never look like UUIDs, so a service can never be
    mistaken for a user.' `uuid.UUID()` (what a sibling would call on `sub`) accepts all
    of these, and check_client_id accepts them too."""
    victim = uuid.uuid4()
    client_id = spelling.format(u=victim, h0=victim.hex[:1], h1=victim.hex[1:])
    assert uuid.UUID(client_id) == victim
    with pytest.raises(ValueError, match="UUID"):
        check_client_id(client_id)


async def test_a_service_token_sub_can_name_a_user(client: AppClient) -> None:
    user = await register(client)
    client_id = f"urn:uuid:{user['id']}"
    with pytest.raises(ValidationFailed):
        await register_client(client.services, client_id, confidential=True)


# -- F5: introspection calls refresh tokens active that the server would refuse -------------


@pytest.fixture
async def auditor(client: AppClient) -> tuple[str, str]:
    secret = await register_client(
        client.services, "auditor", confidential=True, can_introspect=True,
        grant_types=["client_credentials"],
    )  # fmt: skip
    assert secret is not None
    return "auditor", secret


async def test_introspection_of_a_disabled_clients_refresh_token(
    client: AppClient, auditor: tuple[str, str]
) -> None:
    await register(client)
    await register_client(client.services, "mobile")
    tokens = await login(client, client_id="mobile")
    await set_client_disabled(client.services, "mobile", True, actor_id=None, origin=Origin())
    r = await refresh(client, tokens["refresh_token"], client_id="mobile")
    assert r.status_code == 401  # unusable
    r = await client.post("/introspect", data={"token": tokens["refresh_token"]}, auth=auditor)
    assert r.json() == {"active": False}, f"unusable refresh token introspects as {r.json()}"


async def test_introspection_reports_scopes_the_refresh_would_drop(
    client: AppClient, auditor: tuple[str, str]
) -> None:
    await register(client)
    await register_client(client.services, "mobile", scopes=["read", "pay"])
    tokens = await login(client, client_id="mobile", scope="read pay")
    await update_client(
        client.services, "mobile", ClientSpec(scopes=["read"]), actor_id=None, origin=Origin()
    )
    r = await client.post("/introspect", data={"token": tokens["refresh_token"]}, auth=auditor)
    assert r.json().get("scope") in (None, "read"), r.json()


# -- F6: the first-party id shadows a registered client's sessions --------------------------


async def test_naming_a_registered_client_first_party_does_not_drop_its_authentication(
    make_client: Any,
) -> None:
    """A confidential client `backend` with password+refresh sessions; the operator later
    sets IDENTITY_FIRST_PARTY_CLIENT_ID=backend."""
    old = await make_client()
    await register(old)
    secret = await register_client(
        old.services, "backend", confidential=True, grant_types=["password", "refresh_token"]
    )
    r = await old.post(
        "/token",
        data={"grant_type": "password", "username": "alice@example.com", "password": PASSWORD},
        auth=("backend", str(secret)),
    )
    stolen = r.json()["refresh_token"]
    assert (await refresh(old, stolen, client_id="backend")).status_code == 401  # needs secret

    # Naming it first-party would let its tokens refresh with no secret: refused at start.
    with pytest.raises(RuntimeError, match="IDENTITY_FIRST_PARTY_CLIENT_ID"):
        await make_client(first_party_client_id="backend")
    assert (await refresh(old, stolen, client_id="backend")).status_code == 401


async def test_a_former_first_party_id_cannot_be_registered_over_its_sessions(
    client: AppClient, make_client: Any
) -> None:
    await register(client)
    await login(client)  # a session of the first-party client "identity"
    # After IDENTITY_FIRST_PARTY_CLIENT_ID moves on, "identity" must not become a new client.
    later = await make_client(first_party_client_id="web-2027")
    with pytest.raises(ValidationFailed) as refused:
        await register_client(later.services, "identity")
    assert "open sessions" in refused.value.details[0].message


# -- F7: /revoke accepts access tokens of other audiences from anyone ------------------------


async def test_a_resource_server_cannot_end_the_users_session_with_its_token(
    make_client: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """`orders` receives the user's token (aud=orders). It cannot use it at /me or /logout
    (wrong audience: holds), yet /revoke as the unauthenticated first-party client ends the
    user's whole session (refresh token included)."""
    client = await make_client(first_party_audiences=["orders"])
    user = await register(client)
    tokens = await login(client, audience="orders")
    assert (await client.get("/me", headers=bearer(tokens))).status_code == 401
    assert (await client.post("/logout", headers=bearer(tokens))).status_code == 401
    r = await client.post("/revoke", data={"token": tokens["access_token"]})
    assert r.status_code == 200
    rows = await sessions_of(sessionmaker, user["id"])
    assert all(s.revoked_at is None for s in rows), "a foreign-audience token ended the session"


# -- F8: a per-client access-token TTL may only shorten ------------------------------------


async def test_a_client_ttl_cannot_outlive_the_retired_keys(client: AppClient) -> None:
    """A retired key stays published for IDENTITY_ACCESS_TOKEN_TTL (+ reload + leeway): a
    longer client TTL would produce tokens that die at every verifier before their `exp`."""
    from datetime import timedelta

    with pytest.raises(ValidationFailed):
        await register_client(
            client.services, "batch", confidential=True, access_token_ttl=timedelta(hours=1)
        )
    secret = await register_client(
        client.services, "batch", confidential=True, access_token_ttl=timedelta(minutes=5)
    )
    r = await client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=("batch", str(secret))
    )
    assert r.json()["expires_in"] == 300


async def test_introspection_of_a_disabled_clients_service_token(
    client: AppClient, auditor: tuple[str, str]
) -> None:
    """Disabling is the way to cut a service off; its tokens must stop introspecting active."""
    from datetime import timedelta

    secret = await register_client(
        client.services, "batch", confidential=True, access_token_ttl=timedelta(minutes=5)
    )
    r = await client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=("batch", str(secret))
    )
    token = r.json()["access_token"]
    await set_client_disabled(client.services, "batch", True, actor_id=None, origin=Origin())
    r = await client.post("/introspect", data={"token": token}, auth=auditor)
    assert r.json() == {"active": False}, f"disabled client's token: {r.json()}"
