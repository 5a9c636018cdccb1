"""Refused-login timing: can an attacker tell accounts apart by how long a refusal takes?

Six classes of refused `/token` password grants, through the in-process app on SQLite with
throttling off and the lockout threshold out of reach, at production argon2id parameters
(m=19 MiB, t=2, p=1): an unknown email; a wrong password on a current argon2id account; a
locked account and a disabled one (the right password, refused all the same); a wrong
password on a legacy bcrypt account (cost 12) and on an outdated argon2id one (argon2-cffi's
RFC 9106 low-memory profile, m=64 MiB, t=3, p=4). `SAMPLES` refusals per class, in a
shuffled round-robin (fixed seed) so that machine drift hits every class alike, after
`WARMUP` discarded rounds.

Each class is compared with `unknown`, the baseline an enumerating attacker measures
against: a two-sided Mann-Whitney U test (normal approximation, tie-corrected) and the
two-sample Kolmogorov-Smirnov distance with its asymptotic p-value. A class is reported
DISTINGUISHABLE when either p < ALPHA = 0.001 (a family-wise 0.005 spread over the five
comparisons, Bonferroni). A control run with the refusal floor switched off shows that the
same test does find the differences it looks for.

A measurement, not a gated test: `python -m bench timing`. At 60 samples per class the
Mann-Whitney test finds a shift of about 0.8 standard deviations 80 % of the time at this
alpha; the control's shifts are tens of standard deviations.
"""

from __future__ import annotations

import math
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import argon2
import bcrypt
import httpx
from asgi_lifespan import LifespanManager

from identity.app import create_app
from identity.config import Settings
from identity.crypto.passwords import Argon2Parameters, PasswordHasher
from identity.db import migrations
from identity.db.engine import create_engine, create_sessionmaker
from identity.db.models import User

SAMPLES = 60
WARMUP = 3
ALPHA = 0.001
SEED = 20_261_201
PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"
PRODUCTION = Argon2Parameters()  # OWASP: m=19 MiB, t=2, p=1 (the settings' defaults)
BCRYPT_COST = 12
OUTDATED = Argon2Parameters(memory_kib=64 * 1024, time_cost=3, parallelism=4)
CLASSES = ("unknown", "wrong_password", "locked", "disabled", "bcrypt", "outdated_argon2")


@dataclass(frozen=True)
class Comparison:
    name: str
    samples: list[float]  # seconds
    mwu_p: float
    ks_d: float
    ks_p: float

    @property
    def distinguishable(self) -> bool:
        return self.mwu_p < ALPHA or self.ks_p < ALPHA


# -- statistics ------------------------------------------------------------------------


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation, tie-corrected,
    with continuity correction)."""
    n1, n2 = len(a), len(b)
    pooled = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    ranks, ties, i = [0.0] * len(pooled), 0.0, 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    r1 = sum(r for r, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    u = r1 - n1 * (n1 + 1) / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return math.erfc(max(z, 0.0) / math.sqrt(2))


def kolmogorov_smirnov(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """The two-sample KS distance D and its asymptotic two-sided p-value."""
    xs, ys = sorted(a), sorted(b)
    d, i, j = 0.0, 0, 0
    while i < len(xs) and j < len(ys):
        x = min(xs[i], ys[j])
        while i < len(xs) and xs[i] == x:
            i += 1
        while j < len(ys) and ys[j] == x:
            j += 1
        d = max(d, abs(i / len(xs) - j / len(ys)))
    ne = len(xs) * len(ys) / (len(xs) + len(ys))
    lam = (math.sqrt(ne) + 0.12 + 0.11 / math.sqrt(ne)) * d
    if lam < 1e-3:
        return d, 1.0
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return d, min(1.0, max(0.0, p))


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- the measurement -------------------------------------------------------------------


async def _seed_accounts(url: str, params: Argon2Parameters, bcrypt_cost: int) -> None:
    """The accounts of every class, written before the app starts (as a migrated user base
    would be), so the start-up census sees their hash profiles."""
    current = PasswordHasher(params)
    outdated = argon2.PasswordHasher(
        time_cost=OUTDATED.time_cost if params == PRODUCTION else params.time_cost + 1,
        memory_cost=OUTDATED.memory_kib if params == PRODUCTION else params.memory_kib * 2,
        parallelism=OUTDATED.parallelism if params == PRODUCTION else 2,
    )
    now = datetime.now(UTC)
    hashes = {
        "wrong_password": current.hash(PASSWORD),
        "locked": current.hash(PASSWORD),
        "disabled": current.hash(PASSWORD),
        "bcrypt": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(bcrypt_cost)).decode(),
        "outdated_argon2": outdated.hash(PASSWORD),
    }
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            for name, stored in hashes.items():
                session.add(
                    User(
                        id=uuid.uuid4(),
                        email=f"{name}@bench.example",
                        email_normalized=f"{name}@bench.example",
                        password_hash=stored,
                        roles=[],
                        is_active=name != "disabled",
                        locked_at=now if name == "locked" else None,
                        lock_reason="bench" if name == "locked" else None,
                        created_at=now,
                        updated_at=now,
                    )
                )
            await session.commit()
    finally:
        await engine.dispose()


async def _measure(
    settings: Settings, samples: int, warmup: int, padded: bool
) -> tuple[dict[str, list[float]], float]:
    rounds: list[str] = []
    rng = random.Random(SEED)
    for _ in range(warmup + samples):
        order = list(CLASSES)
        rng.shuffle(order)
        rounds += order
    timings: dict[str, list[float]] = {name: [] for name in CLASSES}
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        refusals = app.state.services.hashing.refusals
        if not padded:  # the control: no floor at all (instance attributes shadow the class)
            refusals.MARGIN, refusals.ALLOWANCE = 0.0, 0.0
        floor = refusals.floor
        transport = httpx.ASGITransport(app=manager.app, client=("198.51.100.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for index, name in enumerate(rounds):
                email = f"{name}@bench.example" if name != "unknown" else "nobody@bench.example"
                password = PASSWORD if name in ("locked", "disabled") else WRONG
                form = {"grant_type": "password", "username": email, "password": password}
                start = time.perf_counter()
                r = await client.post("/token", data=form)
                elapsed = time.perf_counter() - start
                assert r.status_code == 400, r.text
                if index >= warmup * len(CLASSES):
                    timings[name].append(elapsed)
    return timings, floor


def measure(
    samples: int = SAMPLES,
    warmup: int = WARMUP,
    params: Argon2Parameters = PRODUCTION,
    bcrypt_cost: int = BCRYPT_COST,
    padded: bool = True,
) -> tuple[list[Comparison], float]:
    """Refusal latencies per class and each class compared with `unknown`; and the floor."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'timing.db'}"
        migrations.upgrade(url)
        anyio.run(_seed_accounts, url, params, bcrypt_cost)
        values: dict[str, Any] = {
            "env": "development",
            "database_url": url,
            "secret_keys": ["bench-secret-that-is-long-enough-0123456789"],
            "rate_limit_enabled": False,
            "lockout_threshold": 1_000_000,
            "log_level": "WARNING",
            "argon2_memory_kib": params.memory_kib,
            "argon2_time_cost": params.time_cost,
            "argon2_parallelism": params.parallelism,
        }
        settings = Settings(_env_file=None, **values)
        timings, floor = anyio.run(_measure, settings, samples, warmup, padded)
    baseline = timings["unknown"]
    comparisons = []
    for name in CLASSES:
        d, ks_p = kolmogorov_smirnov(baseline, timings[name])
        comparisons.append(
            Comparison(name, timings[name], mann_whitney_p(baseline, timings[name]), d, ks_p)
        )
    return comparisons, floor


def report(title: str, comparisons: list[Comparison], floor: float) -> None:
    print(f"{title} (floor {1000 * floor:.0f} ms; vs unknown: Mann-Whitney p, KS D and p)")
    for c in comparisons:
        ms = [1000 * s for s in c.samples]
        verdict = (
            ""
            if c.name == "unknown"
            else ("DISTINGUISHABLE" if c.distinguishable else "indistinguishable")
        )
        print(
            f"  {c.name:16} n={len(ms):3} median {statistics.median(ms):7.1f} ms"
            f"  p10 {percentile(ms, 0.1):7.1f}  p90 {percentile(ms, 0.9):7.1f}"
            f"  max {max(ms):7.1f}   U p={c.mwu_p:8.2g}  D={c.ks_d:.2f} p={c.ks_p:8.2g}  {verdict}"
        )


def main() -> None:
    p = PRODUCTION
    print(
        f"argon2id m={p.memory_kib} KiB t={p.time_cost} p={p.parallelism}; bcrypt cost "
        f"{BCRYPT_COST}; outdated argon2id m={OUTDATED.memory_kib} KiB t={OUTDATED.time_cost} "
        f"p={OUTDATED.parallelism}; {SAMPLES} samples per class, alpha {ALPHA}"
    )
    report("with the refusal floor", *measure())
    report("control, floor off", *measure(padded=False))
