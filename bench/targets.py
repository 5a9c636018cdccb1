"""The issue's targets, each judged against a figure and a baseline from the same run.

A target whose scenario did not run (or is not available in this build) is neither passed
nor failed: `passed` is None and the report says "n/a".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bench.stats import Figures

LOGIN_RATE_SHARE = 0.95
LOGIN_CPU_OVER_HASH_MS = 2.0
CPU_LIMITS_MS = {"refresh": 1.5, "me": 0.6, "jwks": 0.15, "client_credentials": 1.0}
MIXED_P99_FACTOR = 5.0


@dataclass
class Run:
    """Everything one benchmark run measured, as the report renders it."""

    meta: dict[str, Any]
    baselines: dict[str, Figures] = field(default_factory=dict)  # argon2, starlette, asyncpg
    scenarios: dict[str, Figures] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    chains: dict[str, Any] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    scenario: str
    target: str
    figure: str
    baseline: str
    passed: bool | None


def _cpu(f: Figures | None) -> float:
    return f.per_request(f.server_cpu_ms) if f else math.nan


def _judge(ok: bool, *figures: float) -> bool | None:
    return None if any(not math.isfinite(x) for x in figures) else ok


def _split(f: Figures) -> str:
    """Where a login's server CPU went: its hash pool's threads, and everything else."""
    in_hash = f.per_request(f.hash_threads_cpu_ms)
    if not math.isfinite(in_hash):
        return ""
    return f" (hash threads {in_hash:.2f}, the rest {_cpu(f) - in_hash:.2f})"


def _floor(run: Run) -> str:
    bare = run.baselines.get("starlette")
    return f"bare Starlette {_cpu(bare):.2f} ms" if bare else "-"


def evaluate(run: Run) -> list[Verdict]:
    s, b = run.scenarios, run.baselines
    out: list[Verdict] = []
    login, hashing = s.get("login"), b.get("argon2")
    if login and hashing:
        share = login.rate / hashing.rate
        out.append(
            Verdict(
                "login",
                f"rate >= {LOGIN_RATE_SHARE} x bare verify",
                f"{login.rate:.1f}/s ({share:.2f} x)",
                f"bare verify {hashing.rate:.1f}/s",
                _judge(share >= LOGIN_RATE_SHARE, share),
            )
        )
        hash_cpu = _cpu(hashing)
        out.append(
            Verdict(
                "login",
                f"server CPU <= hash CPU + {LOGIN_CPU_OVER_HASH_MS:g} ms",
                f"{_cpu(login):.2f} ms{_split(login)}",
                f"hash {hash_cpu:.2f} ms",
                _judge(_cpu(login) <= hash_cpu + LOGIN_CPU_OVER_HASH_MS, _cpu(login), hash_cpu),
            )
        )
    out += _cpu_targets(run)
    refresh = s.get("refresh")
    if refresh:
        out.append(Verdict("refresh", "zero errors", str(refresh.errors), "-", refresh.errors == 0))
    if run.chains:
        c = run.chains
        good = c["live"] == c["chains"] and not c["mismatched"] and c["reuse_events"] == 0
        out.append(
            Verdict(
                "refresh",
                "one live successor per chain",
                f"{c['live']}/{c['chains']} live, {len(c['mismatched'])} off, "
                f"{c['reuse_events']} reuse events",
                "-",
                good,
            )
        )
    jwks, not_modified = s.get("jwks"), s.get("jwks_304")
    if jwks and not_modified:
        out.append(
            Verdict(
                "jwks_304",
                "a 304 cheaper than a 200",
                f"{_cpu(not_modified):.3f} ms",
                f"200: {_cpu(jwks):.3f} ms",
                _judge(_cpu(not_modified) < _cpu(jwks), _cpu(jwks), _cpu(not_modified)),
            )
        )
    for probe in ("refresh", "/me"):
        idle, loaded = s.get(f"mixed: {probe}, idle"), s.get(f"mixed: {probe}, under logins")
        if idle and loaded:
            ratio = loaded.p(99) / idle.p(99)
            out.append(
                Verdict(
                    "mixed",
                    f"{probe} p99 under logins <= {MIXED_P99_FACTOR:g} x idle",
                    f"{loaded.p(99):.1f} ms ({ratio:.1f} x)",
                    f"idle p99 {idle.p(99):.1f} ms",
                    _judge(ratio <= MIXED_P99_FACTOR and loaded.errors == 0, ratio),
                )
            )
    return out


def _cpu_targets(run: Run) -> list[Verdict]:
    out = []
    for name, limit in CPU_LIMITS_MS.items():
        figures = run.scenarios.get(name)
        if figures is None:
            reason = run.unavailable.get(name)
            if reason:
                out.append(Verdict(name, f"server CPU <= {limit:g} ms", reason, "-", None))
            continue
        cpu = _cpu(figures)
        out.append(
            Verdict(
                name,
                f"server CPU <= {limit:g} ms",
                f"{cpu:.3f} ms",
                _floor(run),
                _judge(cpu <= limit, cpu),
            )
        )
    return out
