"""Read the Dockerfile, .dockerignore and docker-compose.yml the way Docker would.

No Docker engine runs where the suite runs, so the tests check these files' structure and
run their commands on the host. The parsers cover what our files use: line continuations,
`ARG` defaults in `FROM`, exec-form JSON, last-match-wins ignore patterns, and compose's
`${VAR}`, `${VAR:-default}`, `${VAR:?error}` and `$$` interpolation.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form CMD/RUN/HEALTHCHECK CMD."""
        text = self.args.removeprefix("CMD").strip() if self.keyword == "HEALTHCHECK" else self.args
        text = text[text.index("[") :] if "[" in text else text
        parsed = json.loads(text)
        assert isinstance(parsed, list), self.args
        return [str(part) for part in parsed]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def dockerfile_stages(path: Path = ROOT / "Dockerfile") -> list[Stage]:
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker drops comment lines, even inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], ""), rest.split()[0])
            stage_name = rest.split()[2] if " AS " in rest.upper() else None
            stages.append(Stage(base, stage_name))
        else:
            stages[-1].instructions.append(Instruction(keyword, rest))
    return stages


def dockerignore_patterns(path: Path = ROOT / ".dockerignore") -> list[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def in_build_context(relative: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = Path(relative).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.removeprefix("!").strip("/")
        for candidate in candidates:
            name_glob = glob.removeprefix("**/")
            if fnmatch.fnmatchcase(candidate, glob) or (
                glob.startswith("**/") and fnmatch.fnmatchcase(Path(candidate).name, name_glob)
            ):
                included = negated
                break
    return included


def load_compose(path: Path = ROOT / "docker-compose.yml") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


class MissingVariable(Exception):
    """`${VAR:?message}` with VAR unset: compose refuses to start with this message."""


_REFERENCE = re.compile(r"\$(?:(\$)|\{([^}]*)\}|([A-Za-z_]\w*))")
_BRACED = re.compile(r"([A-Za-z_]\w*)(?:(:?)([-?+])(.*))?", re.DOTALL)


def interpolate(value: str, env: Mapping[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        escaped, braced, bare = match.groups()
        if escaped:
            return "$"
        if bare:
            return env.get(bare, "")
        parsed = _BRACED.fullmatch(braced)
        if parsed is None:
            raise ValueError(f"invalid interpolation ${{{braced}}}")
        name, colon, op, arg = parsed.groups()
        current = env.get(name)
        is_set = current is not None and (current != "" or not colon)
        if op == "-":
            return current if is_set and current is not None else arg
        if op == "?":
            if not is_set or current is None:
                raise MissingVariable(f"required variable {name} is missing a value: {arg}")
            return current
        if op == "+":
            return arg if is_set else ""
        return current or ""

    return _REFERENCE.sub(substitute, value)


def raw_environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def service_environment(
    compose: Mapping[str, Any], service: str, variables: Mapping[str, str]
) -> dict[str, str]:
    """A service's environment after interpolation with `variables` (the shell or .env)."""
    raw = raw_environment(compose["services"][service])
    return {key: interpolate(value, variables) for key, value in raw.items()}
