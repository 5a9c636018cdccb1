"""Cleanup: what has outlived its retention goes, in batches; nothing live or inside its
retention is touched; cleaners never fight; the periodic task runs in the live app."""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from identity.app import build_services, retention_from
from identity.clock import FixedClock
from identity.db.engine import create_engine
from identity.db.models import KnownDevice, LoginAttempt, User, UserEvent, UserSession
from identity.services import cleanup
from identity.services.cleanup import Retention
from tests.conftest import make_settings
from tests.factories import login, refresh_grant, register
from tests.integration.conftest import AppClient
from tests.integration.test_metrics import scrape

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
# The settings' defaults, spelled out: the boundaries below are relative to them.
SESSIONS, ATTEMPTS, EVENTS = 7 * DAY, 30 * DAY, 365 * DAY


class Rows:
    """Rows written straight to the database, with the timestamps a test needs."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> None:
        self.sessionmaker = sessionmaker
        self.now = now
        self.user_id = uuid.uuid4()

    async def add(self, *rows: Any) -> list[uuid.UUID]:
        async with self.sessionmaker() as session:
            session.add_all(rows)
            await session.commit()
        return [row.id for row in rows]

    async def user(self) -> uuid.UUID:
        email = f"{self.user_id.hex[:12]}@example.com"
        await self.add(
            User(
                id=self.user_id,
                email=email,
                email_normalized=email,
                password_hash="not a hash",
                roles=[],
                created_at=self.now,
                updated_at=self.now,
            )
        )
        return self.user_id

    def session(
        self,
        *,
        revoked: timedelta | None = None,
        expires: timedelta = 20 * DAY,
        idle: timedelta = 10 * DAY,
    ) -> UserSession:
        """A session ending `expires`/`idle` from now (negative: ended that long ago),
        revoked `revoked` ago if given."""
        return UserSession(
            id=uuid.uuid4(),
            user_id=self.user_id,
            client_id="identity",
            scope="",
            audience="robot-overlord",
            refresh_nonce=secrets.token_bytes(32),
            created_at=self.now - 40 * DAY,
            updated_at=self.now,
            expires_at=self.now + expires,
            idle_expires_at=self.now + idle,
            revoked_at=self.now - revoked if revoked is not None else None,
        )

    def attempt(self, age: timedelta) -> LoginAttempt:
        return LoginAttempt(
            id=uuid.uuid4(),
            identifier="rows@example.com",
            outcome="failed",
            created_at=self.now - age,
        )

    def event(self, age: timedelta, session_id: uuid.UUID | None = None) -> UserEvent:
        return UserEvent(
            id=uuid.uuid4(),
            type="login_failed",
            user_id=self.user_id,
            session_id=session_id,
            data={},
            created_at=self.now - age,
        )

    def device(self, expires: timedelta) -> KnownDevice:
        return KnownDevice(
            id=uuid.uuid4(),
            user_id=self.user_id,
            token_digest=secrets.token_bytes(32),
            expires_at=self.now + expires,
            created_at=self.now - DAY,
            updated_at=self.now,
        )

    async def ids(self, model: Any) -> set[uuid.UUID]:
        async with self.sessionmaker() as session:
            return set((await session.scalars(select(model.id))).all())


async def rows_for(client: AppClient) -> Rows:
    rows = Rows(client.services.sessionmaker, client.services.clock.now())
    await rows.user()
    return rows


async def test_deletes_exactly_what_has_outlived_its_retention(
    make_client: Callable[..., Any], clock: FixedClock
) -> None:
    client: AppClient = await make_client()
    # A real login whose access token has expired: its session is live all the same.
    await register(client)
    tokens = await login(client)
    clock.advance(timedelta(hours=1))
    rows = await rows_for(client)

    keep_sessions = await rows.add(
        rows.session(),  # live
        rows.session(revoked=SESSIONS - SECOND),  # ended, within the grace period
        rows.session(expires=-(SESSIONS - SECOND)),
        rows.session(idle=-SECOND),
    )
    gone_sessions = await rows.add(
        rows.session(revoked=SESSIONS + SECOND),
        rows.session(expires=-(SESSIONS + SECOND)),
        rows.session(idle=-(SESSIONS + SECOND), revoked=SECOND),
    )
    keep_attempts = await rows.add(rows.attempt(ATTEMPTS - SECOND))
    gone_attempts = await rows.add(rows.attempt(ATTEMPTS + SECOND), rows.attempt(400 * DAY))
    # An event of a session cleanup deletes stays, and still names it.
    orphan, kept_event = await rows.add(
        rows.event(DAY, session_id=gone_sessions[0]), rows.event(EVENTS - SECOND)
    )
    gone_events = await rows.add(rows.event(EVENTS + SECOND))
    keep_devices = await rows.add(rows.device(SECOND))
    gone_devices = await rows.add(rows.device(-SECOND))
    before = {m: await rows.ids(m) for m in (UserSession, LoginAttempt, UserEvent, KnownDevice)}

    report = await cleanup.run_pass(client.services, retention_from(client.settings))

    assert report.counts == {
        "user_sessions": 3,
        "login_attempts": 2,
        "user_events": 1,
        "known_devices": 1,
    }
    assert report.complete
    gone = {
        UserSession: gone_sessions,
        LoginAttempt: gone_attempts,
        UserEvent: gone_events,
        KnownDevice: gone_devices,
    }
    kept = {
        UserSession: keep_sessions,
        LoginAttempt: keep_attempts,
        UserEvent: [orphan, kept_event],
        KnownDevice: keep_devices,
    }
    for model in before:
        after = await rows.ids(model)
        assert after == before[model] - set(gone[model]), model.__tablename__
        assert set(kept[model]) <= after, model.__tablename__
    async with client.services.sessionmaker() as session:
        event = await session.get_one(UserEvent, orphan)
    assert event.session_id == gone_sessions[0]

    # The live session still refreshes, and a second pass finds nothing more.
    assert (await refresh_grant(client, tokens["refresh_token"])).status_code == 200
    again = await cleanup.run_pass(client.services, retention_from(client.settings))
    assert again.total == 0


async def test_deletes_in_bounded_batches_one_transaction_each(
    make_client: Callable[..., Any], engine: AsyncEngine
) -> None:
    client: AppClient = await make_client(cleanup_batch_size=2)
    rows = await rows_for(client)
    await rows.add(*[rows.attempt(ATTEMPTS + DAY) for _ in range(7)])
    log: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM LOGIN_ATTEMPTS"):
            log.append(f"delete {cursor.rowcount}")

    def on_commit(conn: Any) -> None:
        log.append("commit")

    event.listen(engine.sync_engine, "after_cursor_execute", on_execute)
    event.listen(engine.sync_engine, "commit", on_commit)
    try:
        report = await cleanup.run_pass(client.services, retention_from(client.settings))
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", on_execute)
        event.remove(engine.sync_engine, "commit", on_commit)

    assert report.counts["login_attempts"] == 7
    assert await rows.ids(LoginAttempt) == set()
    # Sessions (nothing), then 2+2+2+1 attempts in four transactions, events, devices.
    assert log == [
        "commit",
        *["delete 2", "commit"] * 3,
        *["delete 1", "commit"],
        "commit",
        "commit",
    ]


async def test_dry_run_counts_and_deletes_nothing(make_client: Callable[..., Any]) -> None:
    client: AppClient = await make_client()
    rows = await rows_for(client)
    await rows.add(rows.attempt(ATTEMPTS + DAY), rows.session(revoked=SESSIONS + DAY))
    before = await rows.ids(LoginAttempt)

    report = await cleanup.run_pass(client.services, retention_from(client.settings), dry_run=True)

    assert report.dry_run
    assert report.counts == {
        "user_sessions": 1,
        "login_attempts": 1,
        "user_events": 0,
        "known_devices": 0,
    }
    assert await rows.ids(LoginAttempt) == before


async def test_the_periodic_task_cleans_in_the_live_app_and_counts(
    make_client: Callable[..., Any],
) -> None:
    client: AppClient = await make_client(cleanup_interval=0.05)
    rows = await rows_for(client)
    await rows.add(*[rows.attempt(ATTEMPTS + DAY) for _ in range(3)], rows.device(-SECOND))

    for _ in range(200):
        if not await rows.ids(LoginAttempt):
            break
        await asyncio.sleep(0.05)
    assert await rows.ids(LoginAttempt) == set()
    assert await rows.ids(KnownDevice) == set()

    samples = await scrape(client)
    deleted = "identity_cleanup_deleted_rows_total"
    assert samples[(deleted, (("table", "login_attempts"),))] == 3
    assert samples[(deleted, (("table", "known_devices"),))] == 1


async def test_a_failing_pass_is_logged_and_the_task_goes_on(
    make_client: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    client: AppClient = await make_client()
    calls = 0

    async def failing(*args: Any, **kwargs: Any) -> cleanup.CleanupReport:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    original = cleanup.run_pass
    cleanup.run_pass = failing  # type: ignore[assignment]
    try:
        task = asyncio.create_task(
            cleanup.run_forever(client.services, Retention(), timedelta(seconds=0.01))
        )
        for _ in range(200):
            if calls >= 3:
                break
            await asyncio.sleep(0.01)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        cleanup.run_pass = original  # type: ignore[assignment]
    assert calls >= 3
    assert "cleanup pass failed" in caplog.text


@pytest.mark.postgres
async def test_two_cleaners_on_one_database_never_delete_twice_nor_deadlock(
    migrated_database: str, engine: AsyncEngine, clock: FixedClock
) -> None:
    settings = make_settings(migrated_database, cleanup_batch_size=10)
    engines = [create_engine(migrated_database) for _ in range(2)]
    cleaners = [build_services(settings, e, clock=clock) for e in engines]
    rows = Rows(cleaners[0].sessionmaker, clock.now())
    await rows.user()
    ended = await rows.add(*[rows.session(revoked=SESSIONS + DAY) for _ in range(45)])
    await rows.add(*[rows.event(DAY, session_id=s) for s in ended])
    await rows.add(*[rows.attempt(ATTEMPTS + DAY) for _ in range(120)])
    await rows.add(*[rows.event(EVENTS + DAY) for _ in range(33)])
    live = await rows.add(rows.session())
    try:
        reports = await asyncio.wait_for(
            asyncio.gather(*(cleanup.run_pass(svc, retention_from(settings)) for svc in cleaners)),
            timeout=60,
        )
    finally:
        for e in engines:
            await e.dispose()

    totals = {t: sum(r.counts[t] for r in reports) for t in cleanup.TABLES}
    assert totals == {
        "user_sessions": 45,
        "login_attempts": 120,
        "user_events": 33,
        "known_devices": 0,
    }
    assert any(r.complete for r in reports)
    assert await rows.ids(UserSession) == set(live)
    assert await rows.ids(LoginAttempt) == set()
    assert len(await rows.ids(UserEvent)) == 45  # the ended sessions' events stay


@pytest.mark.postgres
async def test_a_row_a_request_holds_is_skipped_not_waited_for(
    make_client: Callable[..., Any], engine: AsyncEngine
) -> None:
    client: AppClient = await make_client()
    rows = await rows_for(client)
    held, other = await rows.add(
        rows.session(revoked=SESSIONS + DAY), rows.session(revoked=SESSIONS + DAY)
    )
    async with engine.connect() as conn, conn.begin():
        # A request's transaction has the row locked (FOR UPDATE) and has not committed.
        await conn.execute(select(UserSession.id).where(UserSession.id == held).with_for_update())
        report = await asyncio.wait_for(
            cleanup.run_pass(client.services, retention_from(client.settings)), timeout=5
        )
        assert report.counts["user_sessions"] == 1
    assert await rows.ids(UserSession) == {held}
    assert other not in await rows.ids(UserSession)
    later = await cleanup.run_pass(client.services, retention_from(client.settings))
    assert later.counts["user_sessions"] == 1


@pytest.mark.skipif(os.name != "posix", reason="subprocess environment")
async def test_cli_cleanup_dry_run_then_for_real(engine: AsyncEngine, clock: FixedClock) -> None:
    from tests.integration.test_cli_users import identity_cli

    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    rows = Rows(sessionmaker, clock.now())  # the fixture's clock starts at the real time
    await rows.user()
    await rows.add(*[rows.attempt(ATTEMPTS + DAY) for _ in range(4)], rows.device(-DAY))
    await rows.add(rows.session(revoked=SESSIONS + DAY), rows.session())

    code, out, err = await identity_cli(engine, "cleanup", "--dry-run")
    assert code == 0, err
    assert out.split() == [
        "would", "delete", "(dry", "run):",
        "user_sessions", "1", "login_attempts", "4", "user_events", "0", "known_devices", "1",
    ]  # fmt: skip
    assert len(await rows.ids(LoginAttempt)) == 4

    code, out, err = await identity_cli(engine, "cleanup")
    assert code == 0, err
    assert out.split() == [
        "deleted:",
        "user_sessions", "1", "login_attempts", "4", "user_events", "0", "known_devices", "1",
    ]  # fmt: skip
    assert await rows.ids(LoginAttempt) == set()
    assert len(await rows.ids(UserSession)) == 1
