"""`identity events export`, the real command against the suite's database: JSON lines of
exactly the matching events, oldest first, past several batches; the export recorded; a
malformed instant or type refused in one line with exit status 2."""

from __future__ import annotations

import json
from datetime import timedelta

import anyio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from identity.clock import FixedClock
from tests.factories import events, password_grant, register
from tests.integration.conftest import AppClient
from tests.integration.test_admin_events import insert_events, user_id
from tests.integration.test_cli_users import identity_cli


async def test_export_writes_the_matching_events_as_json_lines(
    client: AppClient,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    await register(client, "Alice@Example.com")
    await register(client, "bob@example.com")
    alice = await user_id(sessionmaker, "alice@example.com")
    bob = await user_id(sessionmaker, "bob@example.com")
    t0 = clock.now() - timedelta(days=1)
    wanted = await insert_events(
        sessionmaker,
        [
            {"type": "login_failed" if i % 2 else "account_locked", "user_id": alice,
             "created_at": t0 + timedelta(seconds=i // 4)}
            for i in range(1203)
        ],
    )  # fmt: skip
    await insert_events(
        sessionmaker,
        [
            {"type": "login_failed", "user_id": bob, "created_at": t0},
            {"type": "logout", "user_id": alice, "created_at": t0},
            {"type": "login_failed", "user_id": alice, "created_at": t0 - timedelta(seconds=1)},
        ],
    )
    await password_grant(client, "alice@example.com", "a wrong password attempt")  # now: after

    code, out, err = await identity_cli(
        engine, "events", "export", "--since", t0.isoformat().replace("+00:00", "Z"),
        "--until", (t0 + timedelta(hours=1)).isoformat(), "--user", " ALICE@example.com",
        "--type", "login_failed", "--type", "account_locked",
    )  # fmt: skip
    assert code == 0, err
    assert err == ""
    lines = [json.loads(line) for line in out.splitlines()]
    expected = sorted(wanted, key=lambda e: (e.created_at, e.id))
    assert [line["id"] for line in lines] == [str(e.id) for e in expected]
    assert lines[0]["created_at"] == t0.isoformat().replace("+00:00", "Z")

    (exported,) = await events(sessionmaker, "events_exported")
    assert (exported.actor_id, exported.user_agent) == (None, "identity-cli")
    assert exported.data["filter"]["user_email"] == "alice@example.com"
    assert exported.data["filter"]["types"] == ["account_locked", "login_failed"]

    # `--type a b` is the same as `--type a --type b`; no filter but time: everything since.
    code, out, err = await identity_cli(
        engine, "events", "export", "--since", clock.now().isoformat(), "--type", "login_failed",
        "user_registered",
    )  # fmt: skip
    assert code == 0, err
    kinds = sorted(json.loads(line)["type"] for line in out.splitlines())
    assert kinds == ["login_failed", "user_registered", "user_registered"]


BAD_OPTIONS: list[tuple[list[str], int, str]] = [
    (["--since", "2026-01-01T00:00:00"], 2, "--since: needs a UTC offset"),
    (["--since", "last tuesday"], 2, "--since: is not an ISO 8601 date-time with offset"),
    (["--since", "2026-01-01T00:00:00Z", "--until", "2026-02-30T00:00:00Z"], 2, "--until:"),
    (["--since", "2026-01-01T00:00:00Z", "--type", "nope"], 2, "--type: is not an event type"),
    (["--since", "2026-01-01T00:00:00Z", "--user", "nobody@example.com"], 1,
     "no account has the email 'nobody@example.com'"),
]  # fmt: skip


async def test_export_refuses_bad_options_in_one_line(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    results: dict[int, tuple[int, str, str]] = {}

    async def run(i: int) -> None:
        results[i] = await identity_cli(engine, "events", "export", *BAD_OPTIONS[i][0])

    async with anyio.create_task_group() as tg:  # interpreter start-up dominates: overlap
        for i in range(len(BAD_OPTIONS)):
            tg.start_soon(run, i)
    for i, (args, status, message) in enumerate(BAD_OPTIONS):
        code, out, err = results[i]
        assert (code, out) == (status, ""), (args, err)
        assert message in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err
    assert await events(sessionmaker, "events_exported") == []
