"""bench/timing.py keeps working (tiny sample counts, cheap hashing; the figures are not
checked), and its statistics say what they should on data with a known answer."""

from __future__ import annotations

import random

from bench.timing import CLASSES, kolmogorov_smirnov, mann_whitney_p, measure
from identity.crypto.passwords import Argon2Parameters


def test_timing_bench_runs() -> None:
    comparisons, floor = measure(
        samples=3,
        warmup=1,
        params=Argon2Parameters(memory_kib=64, time_cost=1, parallelism=1),
        bcrypt_cost=4,
    )
    assert floor > 0
    assert [c.name for c in comparisons] == list(CLASSES)
    assert all(len(c.samples) == 3 and min(c.samples) > 0 for c in comparisons)
    assert all(0 <= c.mwu_p <= 1 and 0 <= c.ks_p <= 1 for c in comparisons)


def test_the_statistics_find_a_shift_and_not_a_same_distribution() -> None:
    rng = random.Random(7)
    a = [rng.gauss(100, 5) for _ in range(60)]
    same = [rng.gauss(100, 5) for _ in range(60)]
    shifted = [rng.gauss(110, 5) for _ in range(60)]
    assert mann_whitney_p(a, same) > 0.01
    assert kolmogorov_smirnov(a, same)[1] > 0.01
    assert mann_whitney_p(a, shifted) < 1e-6
    assert kolmogorov_smirnov(a, shifted)[1] < 1e-6
    assert mann_whitney_p(a, a) > 0.9  # identical samples, all ties across groups
