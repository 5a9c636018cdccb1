"""The admin API for OAuth clients: admins only, each action's effect on what the client can
get from /token, every call recorded with the administrator as actor, secrets shown once and
their digests never shown."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.clock import FixedClock
from identity.db.models import OAuthClient
from tests.factories import bearer, events, login, register, register_client
from tests.integration.conftest import AppClient
from tests.integration.test_admin_events import admin_headers, user_id

GRANT = {"grant_type": "client_credentials", "scope": "invoices:read"}

# (method, path, JSON body) of every route; "billing" exists when they are called.
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/admin/clients", None),
    ("POST", "/admin/clients", {"client_id": "shop"}),
    ("GET", "/admin/clients/billing", None),
    ("PATCH", "/admin/clients/billing", {"scopes": ["everything"]}),
    ("POST", "/admin/clients/billing/disable", None),
    ("POST", "/admin/clients/billing/enable", None),
    ("POST", "/admin/clients/billing/secret", None),
]


async def stored(sessionmaker: async_sessionmaker[AsyncSession], client_id: str) -> OAuthClient:
    async with sessionmaker() as session:
        stmt = select(OAuthClient).where(OAuthClient.client_id == client_id)
        return (await session.scalars(stmt)).one()


async def client_events(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Any]:
    kinds = ("client_", "clients_")
    every = await events(sessionmaker)
    return [e for e in every if e.type.startswith(kinds)]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_client_administration_is_for_admins_only(
    client: AppClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    method: str,
    path: str,
    body: Any,
) -> None:
    secret = await register_client(client.services, "billing", confidential=True)
    before = await stored(sessionmaker, "billing")
    recorded = len(await client_events(sessionmaker))

    r = await client.request(method, path, json=body)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    assert r.headers["www-authenticate"] == 'Bearer realm="identity"'

    await register(client)
    r = await client.request(method, path, json=body, headers=bearer(await login(client)))
    assert r.status_code == 403
    assert r.json()["error"] == "insufficient_role"
    assert r.headers["cache-control"] == "no-store"

    # Nothing changed and nothing was recorded.
    after = await stored(sessionmaker, "billing")
    assert (after.scopes, after.disabled_at, after.secret_digest) == (
        before.scopes, before.disabled_at, before.secret_digest,
    )  # fmt: skip
    assert (
        await client.post("/token", data=GRANT | {"scope": ""}, auth=("billing", str(secret)))
    ).status_code == 200
    assert len(await client_events(sessionmaker)) == recorded
    async with sessionmaker() as session:
        assert (await session.scalars(select(OAuthClient.client_id))).all() == ["billing"]


async def test_a_confidential_clients_life_through_the_admin_api(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    headers = await admin_headers(client)
    admin = await user_id(sessionmaker, "root@example.com")
    answers: list[httpx.Response] = []

    async def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        clock.advance(1)  # events in order
        r = await client.request(method, path, headers=headers, **kwargs)
        assert r.headers["cache-control"] == "no-store", (path, r.headers)
        answers.append(r)
        return r

    r = await call(
        "POST", "/admin/clients",
        json={"client_id": "billing", "name": "Billing", "scopes": ["invoices:read"],
              "audiences": ["ledger"], "access_token_ttl": 300, "can_introspect": True},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/admin/clients/billing"
    created = r.json()
    secret = created.pop("client_secret")
    assert secret.startswith("cs_")
    assert created == {
        "client_id": "billing",
        "name": "Billing",
        "confidential": True,
        "first_party": False,
        "disabled": False,
        "grant_types": ["client_credentials"],
        "scopes": ["invoices:read"],
        "audiences": ["robot-overlord", "ledger"],
        "default_audience": "robot-overlord",
        "access_token_ttl": 300,
        "can_introspect": True,
        "created_at": created["created_at"],
        "secret_rotated_at": None,
    }
    r = await client.post("/token", data=GRANT, auth=("billing", secret))
    assert (r.status_code, r.json()["expires_in"]) == (200, 300)

    r = await call("GET", "/admin/clients/billing")
    assert r.status_code == 200
    assert r.json() == created  # the secret is never shown again
    r = await call("GET", "/admin/clients/identity")
    assert (r.status_code, r.json()["first_party"]) == (200, True)

    r = await call("PATCH", "/admin/clients/billing", json={"scopes": ["invoices:write"]})
    assert r.status_code == 200, r.text
    assert r.json()["scopes"] == ["invoices:write"]
    r = await client.post("/token", data=GRANT, auth=("billing", secret))
    assert r.json()["error"] == "invalid_scope"

    r = await call("POST", "/admin/clients/billing/disable")
    assert (r.status_code, r.json()["disabled"]) == (200, True)
    write = GRANT | {"scope": "invoices:write"}
    r = await client.post("/token", data=write, auth=("billing", secret))
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
    r = await call("POST", "/admin/clients/billing/enable")
    assert (r.status_code, r.json()["disabled"]) == (200, False)
    assert (await client.post("/token", data=write, auth=("billing", secret))).status_code == 200

    r = await call("POST", "/admin/clients/billing/secret")
    assert r.status_code == 200
    rotated = r.json()["client_secret"]
    assert rotated != secret
    assert r.json()["secret_rotated_at"] is not None
    r = await client.post("/token", data=write, auth=("billing", secret))
    assert r.status_code == 401  # the old secret fails at once
    assert (await client.post("/token", data=write, auth=("billing", rotated))).status_code == 200

    r = await call("GET", "/admin/clients")
    assert [c["client_id"] for c in r.json()["items"]] == ["billing"]

    # Every call is recorded, naming the administrator, from where it came.
    recorded = await client_events(sessionmaker)
    assert [e.type for e in recorded] == [
        "client_created", "client_viewed", "client_viewed", "client_updated",
        "client_disabled", "client_enabled", "client_secret_rotated", "clients_listed",
    ]  # fmt: skip
    assert {e.actor_id for e in recorded} == {admin}
    assert {e.ip for e in recorded} == {"203.0.113.7"}
    assert recorded[3].data == {"client_id": "billing", "fields": ["scopes"]}
    assert recorded[2].data == {"client_id": "identity"}
    assert recorded[7].data == {"count": 1}

    # The secrets were shown once each; the digest never.
    digest = (await stored(sessionmaker, "billing")).secret_digest
    assert digest is not None
    for answer in answers:
        assert "digest" not in answer.text
        assert digest.hex() not in answer.text
    assert sum(secret in a.text for a in answers) == 1
    assert sum(rotated in a.text for a in answers) == 1


async def test_the_client_list_pages_by_client_id(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = await admin_headers(client)
    names = [f"app-{i:02d}" for i in range(7)]
    for name in reversed(names):
        await register_client(client.services, name)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        r = await client.get("/admin/clients", params=params, headers=headers)
        assert r.status_code == 200, r.text
        seen += [c["client_id"] for c in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == names
    listed = await events(sessionmaker, "clients_listed")
    assert sorted(e.data["count"] for e in listed) == [1, 3, 3]
    r = await client.get("/admin/clients", params={"cursor": "%%%"}, headers=headers)
    assert (r.status_code, r.json()["details"][0]["field"]) == (422, "cursor")
    r = await client.get("/admin/clients", params={"limit": "0"}, headers=headers)
    assert (r.status_code, r.json()["details"][0]["field"]) == (422, "limit")


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("PATCH", ""), ("POST", "/disable"), ("POST", "/enable"), ("POST", "/secret")],
)
@pytest.mark.parametrize("client_id", ["nobody", "bad%00id", "x" * 300, str(uuid.uuid4())])
async def test_an_unknown_client_is_404(
    client: AppClient, method: str, suffix: str, client_id: str
) -> None:
    headers = await admin_headers(client)
    body = {} if method == "PATCH" else None
    r = await client.request(
        method, f"/admin/clients/{client_id}{suffix}", json=body, headers=headers
    )
    assert r.status_code == 404, r.text
    assert r.json()["error"] == "client_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"client_id": str(uuid.uuid4())}, "client_id"),  # never a UUID
        ({"client_id": "identity"}, "client_id"),  # the first-party client's id
        ({"client_id": "billing"}, "client_id"),  # taken
        ({"client_id": "xy", "scopes": ["role:admin"]}, "client"),
        ({"client_id": "spa", "confidential": False, "can_introspect": True}, "client"),
        ({"client_id": "svc", "access_token_ttl": 86_400}, "client"),  # beyond the service's
        ({"client_id": "svc", "access_token_ttl": 10**30}, "access_token_ttl"),
        ({"client_id": "svc", "access_token_ttl": "300"}, "access_token_ttl"),  # strict
        ({"client_id": "svc", "confidential": "yes"}, "confidential"),
        ({"client_id": "svc", "name": "bad\x00name"}, "name"),
        (b'{"client_id": "svc", "audiences": ["\\ud800"]}', "audiences.0"),  # a lone surrogate
        ({"client_id": "svc", "colour": "blue"}, "colour"),
        ({}, "client_id"),
    ],
)
async def test_a_bad_registration_is_422_and_records_nothing(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession], body: Any, field: str
) -> None:
    await register_client(client.services, "billing", confidential=True)
    headers = await admin_headers(client)
    if isinstance(body, bytes):
        headers["Content-Type"] = "application/json"
        r = await client.post("/admin/clients", content=body, headers=headers)
    else:
        r = await client.post("/admin/clients", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed"
    assert r.json()["details"][0]["field"] == field
    assert len(await events(sessionmaker, "client_created")) == 1  # billing's own


async def test_what_cannot_be_changed_is_422(client: AppClient) -> None:
    await register_client(client.services, "spa")
    headers = await admin_headers(client)
    r = await client.post("/admin/clients/spa/secret", headers=headers)
    assert (r.status_code, r.json()["details"][0]["message"]) == (
        422, "a public client has no secret",
    )  # fmt: skip
    r = await client.patch("/admin/clients/spa", json={"grant_types": ["client_credentials"]},
                           headers=headers)  # fmt: skip
    assert r.status_code == 422
    for method, suffix in (("PATCH", ""), ("POST", "/disable"), ("POST", "/secret")):
        body = {} if method == "PATCH" else None
        r = await client.request(
            method, f"/admin/clients/identity{suffix}", json=body, headers=headers
        )
        assert r.status_code == 422, (suffix, r.text)
        assert "IDENTITY_FIRST_PARTY" in r.json()["details"][0]["message"]
    r = await client.patch(
        "/admin/clients/spa", content=b"{", headers=headers | {"Content-Type": "application/json"}
    )
    assert (r.status_code, r.json()["error"]) == (400, "malformed_body")
    r = await client.delete("/admin/clients/spa", headers=headers)
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH"}
