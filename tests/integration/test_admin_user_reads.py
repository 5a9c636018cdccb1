"""Administrators' reads of accounts are recorded, as their reads of clients and of the log
are: `users_listed`, `user_viewed`, `user_sessions_listed` and `user_devices_listed`, in the
unit of work that reads, naming the administrator (none from the CLI) and the account; a
refused read records nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import events, login, register
from tests.integration.admin_support import make_admin, make_user
from tests.integration.conftest import AppClient
from tests.integration.test_cli_users_admin import identity_cli

READS = ("users_listed", "user_viewed", "user_sessions_listed", "user_devices_listed")
BAD_CURSORS = ("%%%", "WyJhIiwiYiJd")  # not base64url JSON; ["a","b"], which is no key


async def reads(sessionmaker: Any) -> list[Any]:
    return [e for e in await events(sessionmaker) if e.type in READS]


async def new_events(sessionmaker: Any, seen: set[uuid.UUID]) -> list[Any]:
    """The events not in `seen` (the suite's clock stands still: their order is by id)."""
    return [e for e in await events(sessionmaker) if e.id not in seen]


async def ids(sessionmaker: Any) -> set[uuid.UUID]:
    return {e.id for e in await events(sessionmaker)}


async def test_each_read_of_an_account_records_one_event(
    client: AppClient, sessionmaker: Any
) -> None:
    admin_id, headers = await make_admin(client)
    alice = (await register(client, "Alice@Example.com"))["id"]
    await login(client, "alice@example.com")  # a session and a known device
    headers = {**headers, "User-Agent": "ops-console/1.0", "X-Request-ID": "req-read-1"}
    admin, account = uuid.UUID(admin_id), uuid.UUID(alice)

    calls: list[tuple[str, dict[str, str], str, uuid.UUID | None, dict[str, Any]]] = [
        (
            "/admin/users",
            {"email_prefix": " AL", "locked": "false", "limit": "5"},
            "users_listed",
            None,
            {"filter": {"email_prefix": "al", "locked": False}, "limit": 5, "count": 1,
             "page": "first"},
        ),
        ("/admin/users", {}, "users_listed", None,
         {"filter": {}, "limit": 50, "count": 2, "page": "first"}),
        (f"/admin/users/{alice}", {}, "user_viewed", account, {}),
        (f"/admin/users/{alice}/sessions", {"limit": "10"}, "user_sessions_listed", account,
         {"limit": 10, "count": 1, "page": "first"}),
        (f"/admin/users/{alice}/devices", {}, "user_devices_listed", account,
         {"limit": 50, "count": 1, "page": "first"}),
    ]  # fmt: skip
    for path, params, kind, user_id, data in calls:
        before = await ids(sessionmaker)
        r = await client.get(path, params=params, headers=headers)
        assert r.status_code == 200, r.text
        new = await new_events(sessionmaker, before)
        assert [e.type for e in new] == [kind], path
        (event,) = new
        assert (event.actor_id, event.user_id, event.session_id) == (admin, user_id, None)
        assert (event.ip, event.user_agent, event.request_id) == (
            "203.0.113.7", "ops-console/1.0", "req-read-1",
        )  # fmt: skip
        assert event.data == data, path


async def test_a_later_page_is_recorded_without_its_cursor(
    client: AppClient, sessionmaker: Any
) -> None:
    _, headers = await make_admin(client)
    alice = (await register(client, "alice@example.com"))["id"]
    for _ in range(2):
        await login(client, "alice@example.com")
    for path in ("/admin/users", f"/admin/users/{alice}/sessions"):
        before = await ids(sessionmaker)
        first = await client.get(path, params={"limit": "1"}, headers=headers)
        (recorded,) = await new_events(sessionmaker, before)
        assert (recorded.data["page"], recorded.data["count"]) == ("first", 1)
        cursor = first.json()["next_cursor"]
        assert cursor is not None
        before = await ids(sessionmaker)
        second = await client.get(path, params={"limit": "1", "cursor": cursor}, headers=headers)
        assert second.status_code == 200, second.text
        (recorded,) = await new_events(sessionmaker, before)
        assert (recorded.data["page"], recorded.data["count"]) == ("next", 1)
        # The cursor names the first page's last row: neither it nor that row is recorded.
        assert cursor not in json.dumps(recorded.data)
        assert first.json()["items"][-1]["id"] not in json.dumps(recorded.data)


async def test_a_refused_read_records_nothing(client: AppClient, sessionmaker: Any) -> None:
    _, admin_headers = await make_admin(client)
    alice, user_headers = await make_user(client, "alice@example.com")
    nobody = str(uuid.uuid4())
    paths = ("/admin/users", f"/admin/users/{alice}", f"/admin/users/{alice}/sessions",
             f"/admin/users/{alice}/devices")  # fmt: skip
    for path in paths:  # not an administrator
        r = await client.get(path, headers=user_headers)
        assert (r.status_code, r.json()["error"]) == (403, "insufficient_role"), path
    for path in paths[1:]:  # no such account, or not an id at all
        for missing in (nobody, "not-a-uuid"):
            r = await client.get(path.replace(alice, missing), headers=admin_headers)
            assert (r.status_code, r.json()["error"]) == (404, "user_not_found"), path
    for path in (*paths[:1], *paths[2:]):  # a malformed cursor or query
        for query in [*({"cursor": c} for c in BAD_CURSORS), {"limit": "0"}]:
            r = await client.get(path, params=query, headers=admin_headers)
            assert r.status_code == 422, (path, query, r.text)
    r = await client.get("/admin/users", params={"locked": "yes"}, headers=admin_headers)
    assert r.status_code == 422
    assert await reads(sessionmaker) == []


async def test_the_command_line_reads_are_recorded_without_an_actor(
    client: AppClient, engine: AsyncEngine, sessionmaker: Any
) -> None:
    alice = uuid.UUID((await register(client, "alice@example.com"))["id"])
    await register(client, "bob@example.com")

    code, out, err = await identity_cli(engine, "users", "show", "ALICE@example.com")
    assert code == 0, err
    (viewed,) = await reads(sessionmaker)
    assert (viewed.type, viewed.user_id, viewed.actor_id) == ("user_viewed", alice, None)
    assert (viewed.user_agent, viewed.ip, viewed.data) == ("identity-cli", None, {})

    code, out, err = await identity_cli(
        engine, "users", "list", "--email-prefix", "A", "--no-disabled", "--limit", "10"
    )
    assert (code, [line.split()[0] for line in out.splitlines()]) == (0, ["alice@example.com"])
    (listed,) = [e for e in await reads(sessionmaker) if e.id != viewed.id]
    assert (listed.type, listed.user_id, listed.actor_id) == ("users_listed", None, None)
    assert listed.user_agent == "identity-cli"
    assert listed.data == {
        "filter": {"email_prefix": "a", "disabled": False}, "limit": 10, "count": 1,
        "page": "first",
    }  # fmt: skip

    code, _, err = await identity_cli(engine, "users", "show", "nobody@example.com")
    assert code == 1
    assert len(await reads(sessionmaker)) == 2  # an unknown account: nothing more


@pytest.mark.parametrize("suffix", ["", "/sessions", "/devices"])
async def test_a_deleted_account_is_not_found_and_its_reads_not_recorded(
    client: AppClient, sessionmaker: Any, suffix: str
) -> None:
    _, headers = await make_admin(client)
    alice = (await register(client, "alice@example.com"))["id"]
    assert (await client.delete(f"/admin/users/{alice}", headers=headers)).status_code == 204
    r = await client.get(f"/admin/users/{alice}{suffix}", headers=headers)
    assert (r.status_code, r.json()["error"]) == (404, "user_not_found")
    assert await reads(sessionmaker) == []
