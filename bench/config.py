"""What a run does and for how long: command-line options, each defaulting to a `BENCH_*`
environment variable, then to the full run's value (`--quick`: the smoke test's)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

SCENARIOS = ("login", "refresh", "me", "jwks", "jwks_304", "client_credentials", "mixed")
RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Config:
    admin_dsn: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    workers: int = 2
    seconds: float = 15.0  # each measured window
    warmup: float = 2.0  # unmeasured load before each window
    max_requests: int = 200_000  # per window, whatever the time
    login_rounds: int = 3  # login and bare argon2id alternate, so drift hits both alike
    concurrency: int = 16  # clients of the cheap scenarios and the bare floor
    login_clients: int = 0  # 0: twice the hash slots of all workers
    users: int = 1000
    chains: int = 32
    probe_rate: float = 5.0  # requests/s of each mixed-run probe client: latency, not capacity
    probe_clients: int = 2  # per probed endpoint
    keep_alive: bool = False  # the figures used a fresh connection per request
    log_level: str = "INFO"  # the service's production default
    scenarios: tuple[str, ...] = SCENARIOS
    output: Path = RESULTS / "latest"
    title: str = "identity benchmark"
    quick: bool = False


QUICK = {
    "seconds": 2.0,
    "warmup": 0.5,
    "login_rounds": 1,
    "users": 50,
    "chains": 8,
    "probe_rate": 2.5,
}


TUNABLE = tuple(f.name for f in fields(Config) if f.name not in ("scenarios", "quick"))


def parse(argv: list[str] | None = None) -> Config:
    defaults = Config()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (BENCH_QUICK=1)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    for name in TUNABLE:
        default = getattr(defaults, name)
        flag, help_text = f"--{name.replace('_', '-')}", f"default {default} (BENCH_{name.upper()})"
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true", default=None, help=help_text)
        else:
            parser.add_argument(flag, type=type(default), help=help_text)
    args = parser.parse_args(argv)
    quick = args.quick or _truthy(os.environ.get("BENCH_QUICK", ""))
    values: dict[str, Any] = {**QUICK, "output": RESULTS / "quick"} if quick else {}
    for name in TUNABLE:
        given, env = getattr(args, name), os.environ.get(f"BENCH_{name.upper()}")
        if given is not None:
            values[name] = given
        elif env is not None:
            kind = type(getattr(defaults, name))
            values[name] = _truthy(env) if kind is bool else kind(env)
    only = args.only or os.environ.get("BENCH_ONLY")
    if only:
        values["scenarios"] = _scenarios(only)
    return replace(defaults, quick=quick, **values)


def _truthy(text: str) -> bool:
    return text.lower() in ("1", "true", "yes")


def _scenarios(text: str) -> tuple[str, ...]:
    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"bench: unknown scenarios {sorted(unknown)}; known: {SCENARIOS}")
    return chosen
