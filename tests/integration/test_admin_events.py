"""GET /admin/events and GET /admin/events/export: admins only, filters, keyset pages that
visit each event once, an NDJSON export read in bounded batches, and every viewing and
export recorded with the administrator who made it."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from identity.clock import FixedClock
from identity.db.models import UserEvent
from identity.services import event_log
from identity.services.events import AuthEventType
from identity.services.origin import Origin
from identity.services.user_admin import change_role
from tests.factories import PASSWORD, bearer, events, login, password_grant, register, user_row
from tests.integration.conftest import AppClient

ROUTES = ["/admin/events", "/admin/events/export"]


async def admin_headers(client: AppClient, email: str = "root@example.com") -> dict[str, str]:
    """A Bearer header of a fresh account holding the admin role (read from its row)."""
    await register(client, email)
    await change_role(client.services, email, "admin", grant=True, actor_id=None, origin=Origin())
    return bearer(await login(client, email))


async def user_id(sessionmaker: async_sessionmaker[AsyncSession], email: str) -> uuid.UUID:
    return (await user_row(sessionmaker, email)).id


async def insert_events(
    sessionmaker: async_sessionmaker[AsyncSession], rows: list[dict[str, Any]]
) -> list[UserEvent]:
    """Events written directly (fast, and at chosen times), in chunks."""
    made = [UserEvent(id=uuid.uuid4(), data={}, **row) for row in rows]
    for start in range(0, len(made), 1000):
        async with sessionmaker() as session:
            session.add_all(made[start : start + 1000])
            await session.commit()
    return made


def ndjson(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.text.endswith("\n") or response.text == ""
    return [json.loads(line) for line in response.text.splitlines()]


@contextmanager
def event_reads(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SELECTs on user_events the engine runs meanwhile."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM user_events" in statement:
            seen.append(statement)

    sa_event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa_event.remove(engine.sync_engine, "before_cursor_execute", count)


@pytest.mark.parametrize("path", ROUTES)
async def test_the_event_log_is_for_admins_only(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession], path: str
) -> None:
    r = await client.get(path)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    assert r.headers["www-authenticate"] == 'Bearer realm="identity"'

    await register(client)
    r = await client.get(path, headers=bearer(await login(client)))
    assert r.status_code == 403
    assert r.json()["error"] == "insufficient_role"
    assert r.headers["cache-control"] == "no-store"
    assert await events(sessionmaker, "events_viewed") == []
    assert await events(sessionmaker, "events_exported") == []


async def test_a_page_filters_and_its_viewing_is_recorded(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    headers = await admin_headers(client)
    admin_id = await user_id(sessionmaker, "root@example.com")
    await register(client, "alice@example.com")
    await password_grant(client, "alice@example.com", "wrong password here")
    alice = await user_id(sessionmaker, "alice@example.com")
    t0 = clock.now() - timedelta(days=1)
    await insert_events(
        sessionmaker,
        [
            {"type": "login_failed", "user_id": alice, "ip": "198.51.100.1", "created_at": t0},
            {"type": "login_failed", "user_id": alice, "ip": "198.51.100.2",
             "created_at": t0 + timedelta(hours=1)},
            {"type": "account_locked", "user_id": alice, "ip": "198.51.100.2",
             "created_at": t0 + timedelta(hours=2)},
            {"type": "login_failed", "user_id": None, "ip": "198.51.100.2",
             "created_at": t0 + timedelta(hours=3)},
        ],
    )  # fmt: skip

    async def types(**query: Any) -> list[tuple[str, str | None]]:
        clock.advance(1)  # so the recorded viewings come in order
        r = await client.get("/admin/events", params=query, headers=headers)
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        assert r.json()["next_cursor"] is None
        return [(e["type"], e["ip"]) for e in r.json()["items"]]

    since = t0.isoformat()
    until = (t0 + timedelta(hours=3)).isoformat().replace("+00:00", "Z")
    assert await types(user_id=str(alice), since=since, until=until) == [
        ("account_locked", "198.51.100.2"),
        ("login_failed", "198.51.100.2"),
        ("login_failed", "198.51.100.1"),
    ]  # newest first
    assert await types(user_id=str(alice), since=since, until=until, type="login_failed") == [
        ("login_failed", "198.51.100.2"),
        ("login_failed", "198.51.100.1"),
    ]
    assert await types(ip="198.51.100.2", since=since) == [
        ("login_failed", "198.51.100.2"),
        ("account_locked", "198.51.100.2"),
        ("login_failed", "198.51.100.2"),
    ]
    both = await types(type=["account_locked", "user_registered"], user_id=str(alice))
    assert both == [("user_registered", "203.0.113.7"), ("account_locked", "198.51.100.2")]
    # An offset other than UTC names the same instant.
    plus_two = (t0 + timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))
    assert await types(user_id=str(alice), since=plus_two.isoformat(), until=until) == [
        ("account_locked", "198.51.100.2"),
        ("login_failed", "198.51.100.2"),
    ]
    # The live login failure, recorded by the app itself, is there too, with its shape.
    r = await client.get(
        "/admin/events", params={"user_id": str(alice), "type": "login_failed"}, headers=headers
    )
    newest = r.json()["items"][0]
    assert set(newest) == {
        "id", "type", "created_at", "user_id", "actor_id", "session_id", "ip", "user_agent",
        "request_id", "data",
    }  # fmt: skip
    assert (newest["user_id"], newest["ip"]) == (str(alice), "203.0.113.7")

    viewed = await events(sessionmaker, "events_viewed")
    assert len(viewed) == 6
    assert {e.actor_id for e in viewed} == {admin_id}
    assert all(e.user_id is None and e.ip == "203.0.113.7" for e in viewed)
    assert viewed[1].data == {
        "filter": {
            "user_id": str(alice),
            "types": ["login_failed"],
            "since": t0.isoformat().replace("+00:00", "Z"),
            "until": until,
        },
        "count": 2,
        "page": "first",
    }


async def test_pages_visit_each_event_once(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    headers = await admin_headers(client)
    t0 = clock.now() - timedelta(hours=1)
    # Ties on created_at (three events per instant): the id breaks them.
    made = await insert_events(
        sessionmaker,
        [{"type": "logout", "created_at": t0 + timedelta(seconds=i // 3)} for i in range(137)],
    )
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"type": "logout", "limit": "20", **({"cursor": cursor} if cursor else {})}
        r = await client.get("/admin/events", params=params, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [e["id"] for e in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # Rows added meanwhile (newer) do not shift the pages still to come.
        await insert_events(sessionmaker, [{"type": "logout", "created_at": clock.now()}])
    assert pages == 7
    assert len(seen) == len(set(seen)) == 137
    assert set(seen) == {str(e.id) for e in made}
    expected = sorted(made, key=lambda e: (e.created_at, e.id), reverse=True)
    assert seen == [str(e.id) for e in expected]
    pages_recorded = await events(sessionmaker, "events_viewed")
    assert Counter(e.data["page"] for e in pages_recorded) == {"first": 1, "next": 6}


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "2026-01-01T00:00:00"}, "since"),  # naive: ambiguous
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since"),  # before year 1 in UTC
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"type": "login_failed,logout"}, "type"),
        ({"type": "no_such_event"}, "type"),
        ({"user_id": "alice"}, "user_id"),
        ({"ip": "999.1.1.1"}, "ip"),
        ({"since": "2026-01-01T00:00:00Z" + "0" * 100}, "since"),
    ],
)
async def test_a_malformed_filter_is_422(
    client: AppClient, path: str, query: dict[str, str], field: str
) -> None:
    headers = await admin_headers(client)
    r = await client.get(path, params=query, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed"
    assert [d["field"] for d in r.json()["details"]] == [field]


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "WyJ4IiwieSJd",  # ["x","y"]
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwiMSJd",  # a naive time and not a UUID
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwWiJd",  # one part only
    ],
)
async def test_a_malformed_cursor_is_422(client: AppClient, cursor: str) -> None:
    headers = await admin_headers(client)
    r = await client.get("/admin/events", params={"cursor": cursor}, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["details"] == [
        {"field": "cursor", "message": "is not a cursor this service returned"}
    ]


async def test_the_export_streams_exactly_the_filtered_events_in_batches(
    client: AppClient,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    headers = await admin_headers(client)
    admin_id = await user_id(sessionmaker, "root@example.com")
    await register(client, "alice@example.com")
    alice = await user_id(sessionmaker, "alice@example.com")
    t0 = clock.now() - timedelta(days=2)
    wanted_rows = [
        {"type": "login_failed", "user_id": alice, "ip": "198.51.100.9",
         "created_at": t0 + timedelta(seconds=i // 2)}
        for i in range(2100)
    ]  # fmt: skip
    others = [
        {"type": "login_failed", "user_id": None, "ip": "198.51.100.9", "created_at": t0},
        {"type": "logout", "user_id": alice, "ip": "198.51.100.9", "created_at": t0},
        {"type": "login_failed", "user_id": alice, "ip": "192.0.2.1", "created_at": t0},
        {"type": "login_failed", "user_id": alice, "ip": "198.51.100.9",
         "created_at": t0 - timedelta(seconds=1)},  # before since
        {"type": "login_failed", "user_id": alice, "ip": "198.51.100.9",
         "created_at": t0 + timedelta(days=1)},  # at until: excluded
    ]  # fmt: skip
    wanted = await insert_events(sessionmaker, wanted_rows)
    await insert_events(sessionmaker, others)

    query = {
        "user_id": str(alice),
        "type": "login_failed",
        "ip": "198.51.100.9",
        "since": t0.isoformat(),
        "until": (t0 + timedelta(days=1)).isoformat(),
        "limit": "1",  # a page size: the export has none
    }
    with event_reads(engine) as reads:
        r = await client.get("/admin/events/export", params=query, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-ndjson"
    assert r.headers["cache-control"] == "no-store"
    lines = ndjson(r)
    expected = sorted(wanted, key=lambda e: (e.created_at, e.id))  # oldest first
    assert [line["id"] for line in lines] == [str(e.id) for e in expected]
    assert {line["user_id"] for line in lines} == {str(alice)}
    # 2100 rows in batches of 500: five bounded reads (the last one short).
    assert len(reads) == 5
    assert all("LIMIT" in statement.upper() for statement in reads)

    (exported,) = await events(sessionmaker, "events_exported")
    assert exported.actor_id == admin_id
    assert exported.data["filter"] == {
        "user_id": str(alice),
        "types": ["login_failed"],
        "ip": "198.51.100.9",
        "since": t0.isoformat().replace("+00:00", "Z"),
        "until": (t0 + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
    }


async def test_the_export_includes_its_own_record_and_stops_where_it_began(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    headers = await admin_headers(client)
    before = clock.now()
    r = await client.get("/admin/events/export", headers=headers)
    lines = ndjson(r)
    assert sorted(line["type"] for line in lines if not line["type"].startswith("key_")) == [
        "events_exported", "login_succeeded", "role_granted", "user_registered",
    ]  # fmt: skip
    (own,) = [line for line in lines if line["type"] == "events_exported"]
    assert own["data"] == {"filter": {}, "up_to": before.isoformat().replace("+00:00", "Z")}
    # Events after the export began are the next export's.
    clock.advance(1)
    await insert_events(sessionmaker, [{"type": "logout", "created_at": clock.now()}])
    export = await event_log.start_export(
        client.services, event_log.parse_filter(), actor_id=None, origin=Origin()
    )
    clock.advance(1)
    await insert_events(sessionmaker, [{"type": "logout", "created_at": clock.now()}])
    streamed = [v.type async for v in event_log.stream_export(client.services, export, batch=2)]
    assert streamed.count("logout") == 1
    assert streamed.count("events_exported") == 2


async def test_the_export_holds_no_secret(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = await admin_headers(client)
    await register(client, "alice@example.com")
    tokens = await login(client, "alice@example.com")
    await client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
    await password_grant(client, "alice@example.com", "a wrong password attempt")
    r = await client.post(
        "/admin/clients", json={"client_id": "billing", "confidential": True}, headers=headers
    )
    first_secret = r.json()["client_secret"]
    r = await client.post("/admin/clients/billing/secret", headers=headers)
    second_secret = r.json()["client_secret"]
    r = await client.get("/admin/events/export", headers=headers)
    assert r.status_code == 200
    text = r.text
    for secret in (
        PASSWORD, "a wrong password attempt", tokens["access_token"], tokens["refresh_token"],
        first_secret, second_secret, headers["Authorization"].removeprefix("Bearer "),
    ):  # fmt: skip
        assert secret not in text
    assert "client_secret_rotated" in text


async def test_an_export_by_an_unknown_user_id_is_empty_and_recorded(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = await admin_headers(client)
    nobody = str(uuid.uuid4())
    r = await client.get("/admin/events/export", params={"user_id": nobody}, headers=headers)
    assert (r.status_code, r.text) == (200, "")
    (exported,) = await events(sessionmaker, "events_exported")
    assert exported.data["filter"] == {"user_id": nobody}


def test_openapi_lists_every_event_type() -> None:
    spec = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "identity/http/openapi.yaml").read_text()
    )
    assert spec["components"]["schemas"]["EventType"]["enum"] == [str(t) for t in AuthEventType]
