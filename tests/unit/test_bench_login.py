"""bench/login.py keeps working (tiny windows, cheap hashing; the figures are not checked)."""

from __future__ import annotations

from bench.login import measure
from identity.crypto.passwords import Argon2Parameters


def test_login_bench_runs() -> None:
    result = measure(
        seconds=0.05,
        concurrency=2,
        rounds=1,
        params=Argon2Parameters(memory_kib=64, time_cost=1, parallelism=1),
    )
    assert result.params.memory_kib == 64
    assert min(result.login_rate, result.hash_rate, result.refresh_rate, result.healthz_rate) > 0
