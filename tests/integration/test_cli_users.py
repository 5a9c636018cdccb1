"""`identity users unlock EMAIL`, run as the real command against the suite's database."""

from __future__ import annotations

import sys

import anyio
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.conftest import TEST_SECRET
from tests.e2e.server import clean_environ
from tests.factories import PASSWORD, events, login, password_grant, register, user_row


async def identity_cli(engine: AsyncEngine, *args: str) -> tuple[int, str, str]:
    env = clean_environ(
        IDENTITY_DATABASE_URL=engine.url.render_as_string(hide_password=False),
        IDENTITY_SECRET_KEYS=f'["{TEST_SECRET}"]',
    )
    proc = await anyio.run_process([sys.executable, "-m", "identity", *args], env=env, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


async def test_users_unlock(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await register(client, "Alice@Example.com")
    for _ in range(5):
        await password_grant(client, "alice@example.com", "wrong wrong wrong")
    assert (await password_grant(client)).status_code == 400  # locked

    # Two real processes (interpreter start-up dominates), run side by side.
    results: dict[str, tuple[int, str, str]] = {}

    async def run(email: str) -> None:
        results[email] = await identity_cli(engine, "users", "unlock", email)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, " ALICE@example.com ")
        tg.start_soon(run, "nobody@example.com")

    code, out, err = results[" ALICE@example.com "]
    assert (code, out.strip()) == (0, "Alice@Example.com: unlocked"), err
    row = await user_row(sessionmaker, "alice@example.com")
    assert (row.locked_at, row.failed_login_count) == (None, 0)
    (event,) = await events(sessionmaker, "account_unlocked")
    assert event.data == {"via": "cli", "account": True, "devices": 0}
    assert event.user_agent == "identity-cli"
    await login(client, "alice@example.com", PASSWORD)

    code, out, err = results["nobody@example.com"]
    assert code == 1
    assert "no account has the email 'nobody@example.com'" in err
    assert "Traceback" not in err
