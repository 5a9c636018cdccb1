"""Database errors during register, login, refresh and change-password leak no secret.

Each request meets a real database failure (tests/integration/db_faults.py) while every
logger runs at DEBUG, SQLAlchemy's statement, parameter and result-row logging included
(the worst configuration an operator could pick), through the production handler
(`identity.logs.log_handler`: redaction, then JSON). Then no password, password hash,
refresh nonce (hex or base64) or token may appear in any log line or response, and every
answer must be a JSON error envelope, never a stack trace. The status is not pinned: a
database failure may be a 500 or a 503 `temporarily_unavailable`.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import bcrypt
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from identity.clock import FixedClock
from identity.db.models import User, UserSession
from identity.logs import log_handler
from tests.conftest import PG_URL
from tests.factories import bearer, insert_user, login, register
from tests.integration.conftest import AppClient
from tests.integration.db_faults import (
    PG_FAULTS,
    SQLITE_FAULTS,
    Armed,
    Fault,
    Target,
    app_engine,
)

MARKER = f"Marker-{uuid.uuid4().hex}-Password"
NEW_MARKER = f"Marker-{uuid.uuid4().hex}-NewPassword"
VICTIM = "victim@example.com"
# Shapes that must never survive into a log line or a response, whoever they belong to.
SHAPES = [
    re.compile(r"\$argon2"),
    re.compile(r"\$2[abxy]?\$\d\d\$"),
    re.compile(r"eyJ[\w-]+\.[\w-]+\."),
    re.compile(r"\brt_[\w-]{22}\."),
    re.compile(r"[0-9a-fA-F]{64}"),
]


@dataclass
class State:
    responses: list[httpx.Response] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    hashes: list[str] = field(default_factory=list)  # hashes stored then replaced


Prepare = Callable[[AppClient, FixedClock, async_sessionmaker[AsyncSession]], Awaitable[State]]
Call = Callable[[AppClient, State], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Operation:
    name: str
    target: Target
    prepare: Prepare
    call: Call


async def _register_prepare(c: AppClient, clock: FixedClock, sm: Any) -> State:
    await register(c, "first@example.com", "another fine passphrase 42")  # user_registered
    return State()


async def _register_call(c: AppClient, state: State) -> httpx.Response:
    return await c.post("/register", json={"email": VICTIM, "password": MARKER})


async def _login_prepare(c: AppClient, clock: FixedClock, sm: Any) -> State:
    legacy = bcrypt.hashpw(MARKER.encode(), bcrypt.gensalt(4)).decode()
    await insert_user(sm, email=VICTIM, password_hash=legacy)
    tokens = await login(c, VICTIM, MARKER)  # rehashes to argon2id, opens one session
    return State(values={"tokens": tokens}, hashes=[legacy])


async def _login_call(c: AppClient, state: State) -> httpx.Response:
    form = {"grant_type": "password", "username": VICTIM, "password": MARKER}
    return await c.post("/token", data=form)


async def _refresh_prepare(c: AppClient, clock: FixedClock, sm: Any) -> State:
    await register(c, VICTIM, MARKER)
    first = await c.post(
        "/refresh", json={"refresh_token": (await login(c, VICTIM, MARKER))["refresh_token"]}
    )
    return State(responses=[first], values={"refresh_token": first.json()["refresh_token"]})


async def _refresh_call(c: AppClient, state: State) -> httpx.Response:
    return await c.post("/refresh", json={"refresh_token": state.values["refresh_token"]})


async def _change_prepare(c: AppClient, clock: FixedClock, sm: Any) -> State:
    await register(c, VICTIM, MARKER)
    tokens = await login(c, VICTIM, MARKER)
    clock.advance(1)
    # Changed "now": the unique index on password_changed_at refuses the victim's change.
    await register(c, "bob@example.com", "another fine passphrase 42")
    return State(values={"tokens": tokens})


async def _change_call(c: AppClient, state: State) -> httpx.Response:
    return await c.post(
        "/change-password",
        json={"current_password": MARKER, "new_password": NEW_MARKER},
        headers=bearer(state.values["tokens"]),
    )


def _events_unique(event_type: str) -> str:
    return f"CREATE UNIQUE INDEX fault_unique ON user_events (type) WHERE type = '{event_type}'"


OPERATIONS = [
    Operation(
        "register",
        Target("users", _events_unique("user_registered")),
        _register_prepare,
        _register_call,
    ),
    Operation(
        "login",
        Target("users", "CREATE UNIQUE INDEX fault_unique ON user_sessions (user_id)"),
        _login_prepare,
        _login_call,
    ),
    Operation(
        "refresh",
        Target("user_sessions", _events_unique("token_refreshed"), hashes_first=False),
        _refresh_prepare,
        _refresh_call,
    ),
    Operation(
        "change_password",
        Target("users", "CREATE UNIQUE INDEX fault_unique ON users (password_changed_at)"),
        _change_prepare,
        _change_call,
    ),
]
FAULTS = PG_FAULTS if PG_URL else SQLITE_FAULTS


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every logger at DEBUG into the production handler; SQLAlchemy's rows included."""
    stream = io.StringIO()
    handler = log_handler(stream, json_logs=True)
    root, sql = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    saved = root.level, sql.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    sql.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        sql.setLevel(saved[1])


async def secrets_of(state: State, responses: list[httpx.Response], sm: Any) -> list[str]:
    found = [MARKER, NEW_MARKER, *state.hashes]
    for r in responses:
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        for name in ("access_token", "refresh_token"):
            if isinstance(body, dict) and body.get(name):
                token = body[name]
                found += [token, token.rsplit(".", 1)[1]]  # and its signature or MAC alone
    async with sm() as session:
        found += list((await session.scalars(select(User.password_hash))).all())
        for nonce in (await session.scalars(select(UserSession.refresh_nonce))).all():
            found += [
                nonce.hex(),
                base64.b64encode(nonce).decode(),
                base64.urlsafe_b64encode(nonce).decode().rstrip("="),
            ]
    return found


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
@pytest.mark.parametrize("op", OPERATIONS, ids=[o.name for o in OPERATIONS])
async def test_no_secret_in_any_log_line_or_response(
    op: Operation,
    fault: Fault,
    make_client: Callable[..., Any],
    engine: AsyncEngine,
    migrated_database: str,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    debug_log: io.StringIO,
) -> None:
    faulty = app_engine(migrated_database, fault)
    try:
        client = await make_client(app_engine=faulty, raise_app_exceptions=False)
        state = await op.prepare(client, clock, sessionmaker)
        armed = Armed(engine, migrated_database, op.target, client.services, monkeypatch)
        async with fault.arm(armed):
            refused = await op.call(client, state)
    finally:
        await faulty.dispose()

    # The fault fired: the request failed, as a JSON envelope without internals.
    assert refused.status_code >= 400, refused.text
    assert set(refused.json()) <= {"error", "error_description", "details", "request_id"}
    assert "Traceback" not in refused.text
    log = debug_log.getvalue()
    lines = [json.loads(line) for line in log.splitlines()]
    if refused.status_code == 503:  # classified as an outage (identity/db/outage.py)
        assert refused.json()["error"] == "temporarily_unavailable"
        assert any(line["msg"].startswith("database unavailable") for line in lines)
    elif refused.status_code >= 500:
        logged = " ".join(line.get("exc", "") for line in lines).lower()
        assert fault.expected.lower() in logged, logged[-3000:]
    assert "[redacted" in log  # the DEBUG rows held hashes: the filter did its work
    assert "[parameters:" not in log  # SQLAlchemy printed no bound parameters at all

    # The successful set-up responses carry their own tokens, as they should: only their
    # values are collected, and looked for in the log and in the refusal.
    texts = [log, f"{refused.headers!r} {refused.text}"]
    for secret in await secrets_of(state, [*state.responses, refused], sessionmaker):
        for text in texts:
            assert secret not in text
    for text in texts:
        for shape in SHAPES:
            assert shape.search(text) is None, (shape.pattern, shape.search(text))
