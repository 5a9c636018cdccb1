"""The command line's general behaviour: help, version, defaults in every help text, and a
malformed setting as one line naming its variable (exit 2), never a traceback."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from identity import __version__
from identity.app import create_app
from identity.cli import build_parser, main
from identity.cli._common import HelpFormatter
from tests.conftest import TEST_SECRET
from tests.e2e.server import clean_environ


def parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the CLI, with the words that reach it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from parsers(child, (*path, name))


ALL = list(parsers(build_parser()))
SUBCOMMANDS = [path for path, _ in ALL if path]


def test_bare_identity_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: identity")
    for command in ("serve", "migrate", "keys", "users", "clients", "cleanup", "version"):
        assert f"    {command} " in err


def test_version_and_dash_dash_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out == f"identity {__version__}\n"
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"identity {__version__}\n"


def test_version_needs_no_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IDENTITY_ACCESS_TOKEN_TTL", "banana")
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"identity {__version__}"


@pytest.mark.parametrize("path", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: identity {' '.join(path)}")


def test_every_option_says_what_it_does_and_its_default() -> None:
    missing_help, missing_default = [], []
    for path, parser in ALL:
        formatter = HelpFormatter(prog=parser.prog)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            if isinstance(action, argparse._VersionAction):
                continue
            name = f"{' '.join(path)} {action.option_strings or action.dest}"
            if not (action.help or "").strip():
                missing_help.append(name)
            required_positional = not action.option_strings and action.nargs not in ("?", "*")
            if not required_positional and "default" not in formatter._get_help_string(action):
                missing_default.append(name)
    assert missing_help == []
    assert missing_default == []


def test_help_shows_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "TCP port to listen on (default: 8000)" in out
    assert "(default: 127.0.0.1)" in out
    with pytest.raises(SystemExit):
        main(["cleanup", "--help"])
    assert "only count what would be deleted (default: off)" in capsys.readouterr().out


MALFORMED = [
    ({"IDENTITY_SECRET_KEYS": "abc"}, "IDENTITY_SECRET_KEYS", "not valid JSON"),
    ({"IDENTITY_ACCESS_TOKEN_TTL": "banana"}, "IDENTITY_ACCESS_TOKEN_TTL", "not a duration"),
    ({"IDENTITY_DATABASE_POOL_SIZE": "0"}, "IDENTITY_DATABASE_POOL_SIZE", "greater than or equal"),
    ({"IDENTITY_LOCKOUT_THRESHOLD": "five"}, "IDENTITY_LOCKOUT_THRESHOLD", "not a whole number"),
    ({"IDENTITY_RATE_LIMIT_ENABLED": "maybe"}, "IDENTITY_RATE_LIMIT_ENABLED", "not a boolean"),
    ({"IDENTITY_SIGNING_ALG": "HS256"}, "IDENTITY_SIGNING_ALG", "'ES256', 'EdDSA' or 'RS256'"),
    ({"IDENTITY_LOG_LEVEL": "loud"}, "IDENTITY_LOG_LEVEL", "not a logging level"),
    ({"IDENTITY_CLEANUP_INTERVAL": "-1"}, "IDENTITY_CLEANUP_INTERVAL", "must not be negative"),
    ({"IDENTITY_TRUSTED_PROXIES": '["10.0.0.0/8", "x"]'}, "IDENTITY_TRUSTED_PROXIES (item 2)",
     "not an IP address or network"),
    ({"IDENTITY_DATABASE_URL": "not a url"}, "IDENTITY_DATABASE_URL", "not a database URL"),
    # The value (and its password) is never echoed.
    ({"IDENTITY_DATABASE_URL": "mysql://u:hunter2secret@db/x"}, "IDENTITY_DATABASE_URL",
     "unsupported database driver"),
]  # fmt: skip


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(("env", "variable", "what"), MALFORMED, ids=[m[1] for m in MALFORMED])
def test_a_malformed_setting_exits_2_with_one_line_naming_it(
    env: dict[str, str],
    variable: str,
    what: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exited:
        main(["keys", "list"])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert line.startswith(f"identity: invalid setting {variable}: "), line
    assert what in line
    for value in env.values():
        assert value not in line
    assert captured.out == ""


@pytest.mark.usefixtures("clean_env")
def test_unsafe_production_is_one_line_per_problem(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IDENTITY_ENV", "production")
    monkeypatch.setenv("IDENTITY_SECRET_KEYS", f'["{TEST_SECRET}"]')
    with pytest.raises(SystemExit) as exited:
        main(["migrate"])
    assert exited.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[:2] for line in lines] == [
        ["identity", " refusing to start in production"],
        ["identity", " refusing to start in production"],
    ]
    assert "IDENTITY_DATABASE_URL points at SQLite" in lines[0]
    assert "IDENTITY_ISSUER=" in lines[1]


@pytest.mark.usefixtures("clean_env")
def test_the_app_factory_refuses_malformed_settings_the_same_way(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`uvicorn --factory identity.app:create_app`, without `identity serve` in front."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IDENTITY_ACCESS_TOKEN_TTL", "banana")
    with pytest.raises(SystemExit) as exited:
        create_app()
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("identity: invalid setting IDENTITY_ACCESS_TOKEN_TTL: not a duration")


@pytest.mark.parametrize(
    ("command", "env"),
    [
        (["migrate"], {"IDENTITY_SECRET_KEYS": "abc"}),
        (["serve", "--port", "1"], {"IDENTITY_ACCESS_TOKEN_TTL": "banana"}),
    ],
)
def test_as_a_real_process(command: list[str], env: dict[str, str], tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "identity", *command],
        env=clean_environ(**env),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 2
    (variable,) = env
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"identity: invalid setting {variable}: ")
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing created: no database, no dev secret
