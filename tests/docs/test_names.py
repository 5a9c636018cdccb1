"""No page of the documentation names a setting or an `identity` command that does not
exist: every `IDENTITY_*` name in README.md and docs/**/*.md is a Settings field (or one of
the few documented non-settings), and every `identity <command> ...` in a shell block or an
inline code span is a path of the CLI parser."""

from __future__ import annotations

import argparse
import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from identity.cli import build_parser
from identity.config import Settings
from tests.docs.markdown import ROOT, code_blocks, documentation

# Environment variables the docs may name that are not service settings.
NOT_SETTINGS = {
    "IDENTITY_TEST_DATABASE_URL": "the test suite's database (tests/conftest.py)",
}
SETTING = re.compile(r"\bIDENTITY_[A-Z0-9_]*[A-Z0-9]\b")
SHELL_LANGS = {"", "sh", "bash", "shell", "console"}
# `identity` where a shell would run it: line start (after a prompt), after an operator,
# `$(`, a path ending in /bin/, or `docker compose exec SERVICE` / `run --rm SERVICE`.
COMMAND = re.compile(
    r"(?:^\s*(?:\$\s+)?|&&\s*|\|\|\s*|;\s*|\|\s*|\$\(\s*|/bin/"
    r"|\bexec\s+\S+\s+|\brun\s+--rm\s+\S+\s+)identity\s+(?P<args>[^#\n]*)"
)
INLINE_COMMAND = re.compile(r"`identity\s+(?P<args>[^`]+)`")


def setting_names() -> set[str]:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def test_every_identity_name_in_the_docs_is_a_setting() -> None:
    known = setting_names() | set(NOT_SETTINGS)
    unknown = [
        f"{path.relative_to(ROOT)}:{n}: {name}"
        for path in documentation()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for name in SETTING.findall(line)
        if name not in known
    ]
    assert unknown == []


def invocations() -> list[tuple[str, str]]:
    """(where, the words after `identity`) for each invocation the docs show."""
    found = []
    for path in documentation():
        for block in code_blocks(path):
            if block.lang not in SHELL_LANGS:
                continue
            for offset, line in enumerate(block.text.splitlines(), 1):
                for match in COMMAND.finditer(line):
                    found.append((f"{block.where}+{offset}", match["args"]))
        prose = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
        for match in INLINE_COMMAND.finditer(prose):
            found.append((f"{path.relative_to(ROOT)} (inline)", match["args"]))
    return found


def _ends_the_path(word: str) -> bool:
    """An argument rather than a command word: an option, a placeholder, a value."""
    return (
        word.startswith("-")
        or word.upper() == word  # EMAIL, KID…, REV
        or any(c in word for c in "$<\"'…=@.:/")
    )


def _subparsers(parser: argparse.ArgumentParser) -> Any:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def _choices_positional(parser: argparse.ArgumentParser) -> argparse.Action | None:
    return next((a for a in parser._actions if not a.option_strings and a.choices), None)


def check_path(words: list[str]) -> str | None:
    """None if the words name a command path of the parser, else what is wrong."""
    parser = build_parser()
    walked = ["identity"]
    for word in words:
        if _ends_the_path(word):
            return None
        sub = _subparsers(parser)
        if sub is not None:
            if word not in sub.choices:
                return f"`{' '.join(walked)}` has no command {word!r} ({', '.join(sub.choices)})"
            parser = sub.choices[word]
            walked.append(word)
            continue
        positional = _choices_positional(parser)
        if positional is not None and positional.choices is not None:
            if word not in positional.choices:
                return f"`{' '.join(walked)}` has no action {word!r}"
        return None
    return None


def expand(args: str) -> list[list[str]]:
    """`migrate [upgrade|downgrade] [REV]` -> one word list per alternative."""
    words = []
    for word in args.split():
        if word.startswith("[") and not word.endswith("]"):
            break  # an optional group of several words: the rest is arguments
        words.append(word.strip("[]").split("|"))
    return [list(path) for path in itertools.product(*words)]


def test_the_checker_refuses_a_command_that_does_not_exist() -> None:
    assert check_path(["users", "unlock", "EMAIL"]) is None
    assert check_path(["keys", "list"]) is None
    assert check_path(["users", "frobnicate", "EMAIL"]) is not None
    assert check_path(["keys", "frobnicate"]) is not None
    assert check_path(["frobnicate"]) is not None


@pytest.mark.parametrize(("where", "args"), invocations())
def test_every_identity_command_in_the_docs_exists(where: str, args: str) -> None:
    for words in expand(args):
        problem = check_path(words)
        assert problem is None, f"{where}: identity {args}: {problem}"


def test_invocations_are_found() -> None:
    found = {args.split()[0] for _, args in invocations()}
    assert {"serve", "migrate", "keys", "users", "clients"} <= found


def test_documentation_pages_exist() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in documentation()}
    assert {
        "README.md",
        "docs/flows.md",
        "docs/configuration.md",
        "docs/guides/frontend.md",
        "docs/guides/sibling-services.md",
        "docs/guides/service-to-service.md",
    } <= names
    for path in map(Path, names):
        text = (ROOT / path).read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert ((ROOT / path).parent / target).exists(), f"{path}: broken link {target}"
