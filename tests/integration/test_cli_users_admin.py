"""`identity users create-admin|create|show|list|disable|enable|delete|unlock`, run as the
real command against the suite's database."""

from __future__ import annotations

import argparse
import getpass
import io
import sys
from typing import Any

import anyio
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.cli import build_parser, user_output
from tests.conftest import TEST_SECRET
from tests.e2e.server import clean_environ
from tests.factories import PASSWORD, bearer, events, login, password_grant, register, user_row
from tests.integration.admin_support import claims_of
from tests.integration.conftest import AppClient


async def identity_cli(engine: AsyncEngine, *args: str, stdin: str = "") -> tuple[int, str, str]:
    env = clean_environ(
        IDENTITY_DATABASE_URL=engine.url.render_as_string(hide_password=False),
        IDENTITY_SECRET_KEYS=f'["{TEST_SECRET}"]',
    )
    proc = await anyio.run_process(
        [sys.executable, "-m", "identity", *args], input=stdin.encode(), env=env, check=False
    )
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


async def test_create_admin(client: AppClient, engine: AsyncEngine, sessionmaker: Any) -> None:
    code, out, err = await identity_cli(
        engine, "users", "create-admin", "root@example.com", stdin="password\n"
    )
    assert code == 1
    assert "does not meet the password policy" in err
    assert "common" in err  # the reason itself
    assert "Traceback" not in err
    assert await events(sessionmaker, "user_created_by_admin") == []

    code, out, err = await identity_cli(
        engine, "users", "create-admin", "Root@Example.com", stdin=f"{PASSWORD}\n"
    )
    assert code == 0, err
    assert "roles:            admin" in out
    assert "$argon2" not in out
    (event,) = await events(sessionmaker, "user_created_by_admin")
    assert (event.actor_id, event.user_agent) == (None, "identity-cli")
    tokens = await login(client, "root@example.com")
    assert claims_of(tokens["access_token"])["roles"] == ["admin"]
    assert (await client.get("/admin/users", headers=bearer(tokens))).status_code == 200

    code, _, err = await identity_cli(
        engine, "users", "create-admin", "root@example.com", stdin=f"{PASSWORD}\n"
    )
    assert (code, "already exists" in err) == (1, True)


async def test_create_show_list(client: AppClient, engine: AsyncEngine) -> None:
    code, out, err = await identity_cli(
        engine, "users", "create", "alice@example.com", "--role", "auditor", "--role", "ops",
        stdin=f"{PASSWORD}\n",
    )  # fmt: skip
    assert code == 0, err
    await register(client, "bob@example.com")
    for _ in range(5):
        await password_grant(client, "bob@example.com", "wrong wrong wrong")

    code, out, err = await identity_cli(engine, "users", "show", "BOB@example.com")
    assert code == 0, err
    assert "lock:             account locked since" in out
    assert "(too_many_failures)" in out
    assert "failed logins:    5" in out
    assert "$argon2" not in out

    code, out, err = await identity_cli(engine, "users", "list")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    assert any(
        line.startswith("alice@example.com ") and "roles=auditor,ops" in line for line in lines
    )
    code, out, _ = await identity_cli(engine, "users", "list", "--locked")
    assert [line.split()[0] for line in out.splitlines()] == ["bob@example.com"]
    code, out, _ = await identity_cli(engine, "users", "list", "--email-prefix", "AL")
    assert [line.split()[0] for line in out.splitlines()] == ["alice@example.com"]
    code, out, err = await identity_cli(engine, "users", "list", "--limit", "1")
    assert (code, len(out.splitlines())) == (0, 1)
    assert "raise --limit" in err
    code, _, err = await identity_cli(engine, "users", "show", "nobody@example.com")
    assert (code, "no account has the email 'nobody@example.com'" in err) == (1, True)


async def test_lock_unlock_disable_enable_delete(
    client: AppClient, engine: AsyncEngine, sessionmaker: Any
) -> None:
    await register(client)
    headers = bearer(await login(client))
    for _ in range(5):
        await password_grant(client, "alice@example.com", "wrong wrong wrong")
    assert (await password_grant(client)).status_code == 400

    code, out, err = await identity_cli(engine, "users", "unlock", "alice@example.com")
    assert (code, out.strip()) == (0, "alice@example.com: unlocked"), err
    await login(client)

    code, out, err = await identity_cli(engine, "users", "disable", "alice@example.com")
    assert (code, out.strip()) == (0, "alice@example.com: disabled"), err
    assert (await client.get("/me", headers=headers)).status_code == 401
    disabled = await password_grant(client)
    unknown = await password_grant(client, "nobody@example.com")
    assert (disabled.status_code, disabled.json()) == (unknown.status_code, unknown.json())
    (event,) = await events(sessionmaker, "account_disabled")
    assert (event.actor_id, event.user_agent, event.data) == (
        None, "identity-cli", {"sessions_ended": 2},
    )  # fmt: skip

    code, out, err = await identity_cli(engine, "users", "enable", "alice@example.com")
    assert (code, out.strip()) == (0, "alice@example.com: enabled"), err
    await login(client)

    code, out, err = await identity_cli(engine, "users", "delete", "alice@example.com")
    assert (code, out.strip()) == (0, "alice@example.com: deleted (1 sessions ended)"), err
    assert (await user_row(sessionmaker, "alice@example.com")).deleted_at is not None
    assert (await password_grant(client)).json() == unknown.json()
    (event,) = await events(sessionmaker, "account_deleted")
    assert event.user_agent == "identity-cli"
    code, _, err = await identity_cli(engine, "users", "delete", "alice@example.com")
    assert code == 1


def _options(parser: Any) -> list[tuple[str, Any]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [(f"{name} {n}", a) for n, a in _options(sub)]
        elif not isinstance(action, argparse._HelpAction):
            found.append(("", action))
    return found


def test_every_users_option_has_help() -> None:
    users = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    ).choices["users"]
    options = _options(users)
    assert len(options) > 15
    for where, action in options:
        assert action.help, (where, action.dest)


@pytest.mark.parametrize("entries", [["a", "b"]])
def test_prompt_refuses_two_different_passwords(
    monkeypatch: pytest.MonkeyPatch, entries: list[str]
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(entries)
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(answers))
    with pytest.raises(user_output.PasswordEntryError, match="differ"):
        user_output.read_password(Terminal())
    answers = iter(["same", "same"])
    assert user_output.read_password(Terminal()) == "same"
