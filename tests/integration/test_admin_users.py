"""The admin API over accounts: who may call it, what each route does, and the event that
names the administrator who did it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identity.db.models import KnownDevice
from tests.factories import (
    PASSWORD,
    events,
    login,
    password_grant,
    register,
    user_row,
)
from tests.integration.admin_support import (
    ADMIN_ROUTES,
    claims_of,
    make_admin,
    make_user,
)
from tests.integration.conftest import AppClient

WRONG = "wrong wrong wrong"


async def route_params(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> dict[str, str]:
    """A target account with a live session and a known device, for the path templates."""
    await register(client, "target@example.com")
    tokens = await login(client, "target@example.com")
    claims = claims_of(tokens["access_token"])
    async with sessionmaker() as session:
        device = (await session.scalars(select(KnownDevice.id))).first()
    return {"user": claims["sub"], "session": claims["sid"], "device": str(device)}


@pytest.mark.parametrize(("method", "template", "body"), ADMIN_ROUTES)
async def test_every_admin_route_needs_an_admin(
    client: AppClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    method: str,
    template: str,
    body: dict[str, Any] | None,
) -> None:
    params = await route_params(client, sessionmaker)
    path = template.format(**params)
    _, user_headers = await make_user(client, "plain@example.com")
    recorded = len(await events(sessionmaker))

    anonymous = await client.request(method, path, json=body)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["error"] == "invalid_token"
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="identity"'

    refused = await client.request(method, path, json=body, headers=user_headers)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "insufficient_role"
    assert refused.headers["cache-control"] == "no-store"
    # Refused before anything happened: the target is untouched.
    row = await user_row(sessionmaker, "target@example.com")
    assert (row.deleted_at, row.is_active, row.roles) == (None, True, [])
    assert len(await events(sessionmaker)) == recorded  # not even the attempt to read

    admin_id, admin_headers = await make_admin(client)
    before = {e.id for e in await events(sessionmaker)}
    done = await client.request(method, path, json=body, headers=admin_headers)
    assert done.status_code < 300, done.text
    assert done.headers["cache-control"] == "no-store"
    assert "password_hash" not in done.text
    assert "token_digest" not in done.text
    # Every action, reads included, records an event naming the administrator; doing what
    # is already done (unlock the unlocked, enable the enabled, revoke a role not held)
    # changes nothing and records nothing.
    mine = [
        e for e in await events(sessionmaker)
        if e.actor_id == uuid.UUID(admin_id) and e.id not in before
    ]  # fmt: skip
    action = (method, template.removeprefix("/admin/users/{user}"))
    no_op = action in {("POST", "/unlock"), ("POST", "/enable"), ("DELETE", "/roles/auditor")}
    assert len(mine) == (0 if no_op else 1), action


async def test_list_and_search(client: AppClient, sessionmaker: Any) -> None:
    _, headers = await make_admin(client)
    await register(client, "Alice@Example.com")
    await register(client, "albert@example.com")
    await register(client, "bob@example.com")
    for _ in range(5):
        await password_grant(client, "bob@example.com", WRONG)
    carol, _ = await make_user(client, "carol@example.com")
    r = await client.post(f"/admin/users/{carol}/disable", headers=headers)
    assert r.status_code == 200

    async def emails(**query: str) -> list[str]:
        r = await client.get("/admin/users", params=query, headers=headers)
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        assert r.json()["next_cursor"] is None
        return [u["email"] for u in r.json()["items"]]

    everyone = await emails()
    assert set(everyone) == {
        "root@example.com", "Alice@Example.com", "albert@example.com", "bob@example.com",
        "carol@example.com",
    }  # fmt: skip
    assert sorted(await emails(email_prefix="AL")) == ["Alice@Example.com", "albert@example.com"]
    assert await emails(email_prefix="al%") == []  # a wildcard is a character
    assert await emails(locked="true") == ["bob@example.com"]
    assert "bob@example.com" not in await emails(locked="false")
    assert await emails(disabled="true") == ["carol@example.com"]
    assert await emails(disabled="false", email_prefix="c") == []

    listed = (await client.get("/admin/users", params={"locked": "true"}, headers=headers)).json()
    (bob,) = listed["items"]
    assert bob["lock"]["locked"] is True
    assert bob["lock"]["reason"] == "too_many_failures"
    assert bob["failed_login_count"] == 5
    assert "password_hash" not in bob


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": "WyJhIiwiYiJd"}, "cursor"),  # ["a","b"]: decodes, but is no key
        ({"locked": "yes"}, "locked"),
        ({"disabled": "1"}, "disabled"),
        ({"email_prefix": "a\x00"}, "email_prefix"),
        ({"email_prefix": "a" * 400}, "email_prefix"),
    ],
)
async def test_malformed_query_is_422_naming_the_field(
    client: AppClient, query: dict[str, str], field: str
) -> None:
    _, headers = await make_admin(client)
    r = await client.get("/admin/users", params=query, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed"
    assert [d["field"] for d in r.json()["details"]] == [field]


async def test_pagination_walks_every_account_once(client: AppClient) -> None:
    # The suite's clock is fixed: every account has the same created_at, so the id alone
    # orders them, which is the hard case of a (created_at, id) keyset.
    _, headers = await make_admin(client)
    for i in range(11):
        await register(client, f"user{i:02}@example.com")
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        r = await client.get("/admin/users", params=params, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= 3
        seen += [u["id"] for u in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert len(seen) == len(set(seen)) == 12


async def test_show_one_account(client: AppClient, sessionmaker: Any) -> None:
    _, headers = await make_admin(client)
    first = await login(client, "root@example.com")  # a known device, and a second session
    for _ in range(5):  # lock that device: its own count
        await password_grant(client, "root@example.com", WRONG, device_token=first["device_token"])
    for _ in range(2):  # two failures from unknown devices: the account's count
        await password_grant(client, "root@example.com", WRONG)
    me = (await client.get("/me", headers=headers)).json()

    r = await client.get(f"/admin/users/{me['id']}", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["email"] == "root@example.com"
    assert body["roles"] == ["admin"]
    assert body["disabled"] is False
    assert body["lock"] == {
        "locked": True, "account_locked_at": None, "reason": None, "locked_devices": 1,
    }  # fmt: skip
    assert body["failed_login_count"] == 2
    assert body["live_sessions"] == 2
    assert body["known_devices"] == 2
    assert body["last_login_at"] is not None
    assert body["created_at"] is not None
    assert "password_hash" not in r.text

    for missing in (str(uuid.uuid4()), "not-a-uuid", "1"):
        r = await client.get(f"/admin/users/{missing}", headers=headers)
        assert (r.status_code, r.json()["error"]) == (404, "user_not_found")


async def test_create_user(client: AppClient, sessionmaker: Any) -> None:
    admin_id, headers = await make_admin(client)
    r = await client.post(
        "/admin/users",
        json={"email": "New@Example.com", "password": PASSWORD, "roles": ["auditor", "auditor"]},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["email"], created["roles"]) == ("New@Example.com", ["auditor"])
    assert created["live_sessions"] == 0
    (event,) = await events(sessionmaker, "user_created_by_admin")
    assert event.actor_id == uuid.UUID(admin_id)
    assert event.user_id == uuid.UUID(created["id"])
    assert event.data == {"roles": ["auditor"]}
    assert claims_of((await login(client, "new@example.com"))["access_token"])["roles"] == [
        "auditor"
    ]

    again = await client.post(
        "/admin/users", json={"email": "new@example.COM", "password": PASSWORD}, headers=headers
    )
    assert (again.status_code, again.json()["error"]) == (409, "email_taken")
    weak = await client.post(
        "/admin/users", json={"email": "weak@example.com", "password": "password"}, headers=headers
    )
    assert (weak.status_code, weak.json()["error"]) == (422, "weak_password")
    assert weak.json()["details"]["reasons"]
    bad_role = await client.post(
        "/admin/users",
        json={"email": "x@example.com", "password": PASSWORD, "roles": ["Not A Role"]},
        headers=headers,
    )
    assert bad_role.status_code == 422
    assert bad_role.json()["details"][0]["field"].startswith("roles")
    missing = await client.post("/admin/users", json={"password": PASSWORD}, headers=headers)
    assert [d["field"] for d in missing.json()["details"]] == ["email"]


async def test_lock_then_unlock_through_the_api(client: AppClient, sessionmaker: Any) -> None:
    admin_id, headers = await make_admin(client)
    profile = await register(client, "alice@example.com")
    for _ in range(5):
        await password_grant(client, "alice@example.com", WRONG)
    assert (await password_grant(client)).status_code == 400  # locked

    r = await client.post(f"/admin/users/{profile['id']}/unlock", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["lock"] == {
        "locked": False, "account_locked_at": None, "reason": None, "locked_devices": 0,
    }  # fmt: skip
    assert r.json()["failed_login_count"] == 0
    (event,) = await events(sessionmaker, "account_unlocked")
    assert event.actor_id == uuid.UUID(admin_id)
    assert event.data == {"via": "admin_api", "account": True, "devices": 0}
    await login(client)


async def test_disable_ends_sessions_and_login_answers_like_an_unknown_account(
    client: AppClient, sessionmaker: Any
) -> None:
    admin_id, headers = await make_admin(client)
    user_id, user_headers = await make_user(client, "alice@example.com")
    await login(client)  # a second session
    assert (await client.get("/me", headers=user_headers)).status_code == 200

    r = await client.post(f"/admin/users/{user_id}/disable", headers=headers)
    assert (r.status_code, r.json()["disabled"], r.json()["live_sessions"]) == (200, True, 0)
    (event,) = await events(sessionmaker, "account_disabled")
    assert (event.actor_id, event.data) == (uuid.UUID(admin_id), {"sessions_ended": 2})

    ended = await client.get("/me", headers=user_headers)
    assert (ended.status_code, ended.json()["error"]) == (401, "invalid_token")

    disabled = await password_grant(client, "alice@example.com", PASSWORD)
    unknown = await password_grant(client, "nobody@example.com", PASSWORD)
    assert disabled.status_code == unknown.status_code == 400
    assert disabled.json() == unknown.json()
    assert disabled.headers["cache-control"] == unknown.headers["cache-control"]

    # Disabling again changes nothing and records nothing.
    await client.post(f"/admin/users/{user_id}/disable", headers=headers)
    assert len(await events(sessionmaker, "account_disabled")) == 1

    r = await client.post(f"/admin/users/{user_id}/enable", headers=headers)
    assert (r.status_code, r.json()["disabled"]) == (200, False)
    (event,) = await events(sessionmaker, "account_enabled")
    assert event.actor_id == uuid.UUID(admin_id)
    assert (await client.get("/me", headers=user_headers)).status_code == 401  # still ended
    await login(client)


async def test_grant_and_revoke_roles(client: AppClient, sessionmaker: Any) -> None:
    admin_id, headers = await make_admin(client)
    user_id, _ = await make_user(client, "alice@example.com")

    r = await client.put(f"/admin/users/{user_id}/roles/auditor", headers=headers)
    assert (r.status_code, r.json()["roles"]) == (200, ["auditor"])
    r = await client.put(f"/admin/users/{user_id}/roles/auditor", headers=headers)  # again
    assert r.json()["roles"] == ["auditor"]
    (granted,) = [
        e for e in await events(sessionmaker, "role_granted") if e.user_id == uuid.UUID(user_id)
    ]
    assert (granted.actor_id, granted.data) == (uuid.UUID(admin_id), {"role": "auditor"})
    assert claims_of((await login(client))["access_token"])["roles"] == ["auditor"]

    r = await client.delete(f"/admin/users/{user_id}/roles/auditor", headers=headers)
    assert (r.status_code, r.json()["roles"]) == (200, [])
    (revoked,) = await events(sessionmaker, "role_revoked")
    assert revoked.actor_id == uuid.UUID(admin_id)

    r = await client.put(f"/admin/users/{user_id}/roles/Not%20a%20role", headers=headers)
    assert (r.status_code, r.json()["details"][0]["field"]) == (422, "role")
    r = await client.put(f"/admin/users/{uuid.uuid4()}/roles/auditor", headers=headers)
    assert (r.status_code, r.json()["error"]) == (404, "user_not_found")


async def test_revoking_admin_takes_effect_at_once(client: AppClient) -> None:
    _, root = await make_admin(client)
    other_id, other = await make_admin(client, "other-admin@example.com")
    token = other["Authorization"].removeprefix("Bearer ")
    assert claims_of(token)["roles"] == ["admin"]
    assert (await client.get("/admin/users", headers=other)).status_code == 200

    r = await client.delete(f"/admin/users/{other_id}/roles/admin", headers=root)
    assert r.status_code == 200
    # The token still says admin; the row, which the guard reads, no longer does.
    refused = await client.get("/admin/users", headers=other)
    assert (refused.status_code, refused.json()["error"]) == (403, "insufficient_role")
    assert (await client.get("/me", headers=other)).status_code == 200  # still signed in


async def test_soft_delete(client: AppClient, sessionmaker: Any) -> None:
    admin_id, headers = await make_admin(client)
    user_id, user_headers = await make_user(client, "alice@example.com")

    r = await client.delete(f"/admin/users/{user_id}", headers=headers)
    assert r.status_code == 204
    assert r.headers["cache-control"] == "no-store"
    (event,) = await events(sessionmaker, "account_deleted")
    assert (event.actor_id, event.data) == (uuid.UUID(admin_id), {"sessions_ended": 1})
    row = await user_row(sessionmaker, "alice@example.com")
    assert row.deleted_at is not None

    assert (await client.get("/me", headers=user_headers)).status_code == 401
    r = await client.get(f"/admin/users/{user_id}", headers=headers)
    assert (r.status_code, r.json()["error"]) == (404, "user_not_found")
    r = await client.delete(f"/admin/users/{user_id}", headers=headers)
    assert r.status_code == 404
    deleted = await password_grant(client, "alice@example.com", PASSWORD)
    unknown = await password_grant(client, "nobody@example.com", PASSWORD)
    assert (deleted.status_code, deleted.json()) == (unknown.status_code, unknown.json())

    # The email is free for a new account.
    again = await register(client, "alice@example.com")
    assert again["id"] != user_id
    await login(client)


async def test_bodies_are_checked(client: AppClient) -> None:
    _, headers = await make_admin(client)
    cases: list[tuple[bytes, str, int]] = [
        (b"{", "application/json", 400),
        (b"email=a", "application/x-www-form-urlencoded", 415),
        (b'{"email": "a@b.c", "password": 5}', "application/json", 422),
        (b"[]", "application/json", 422),
    ]
    for content, content_type, status in cases:
        r = await client.post(
            "/admin/users", content=content, headers={**headers, "Content-Type": content_type}
        )
        assert r.status_code == status, (content, r.text)
