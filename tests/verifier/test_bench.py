"""The verifier keeps up with bare joserfc: at least 80 % of its rate on the same token
(bench/verifier.py, measured here with fewer iterations; `make bench` for the full run)."""

from __future__ import annotations

from bench.verifier import TARGET_RATIO, measure


def test_verifier_reaches_80_percent_of_bare_joserfc() -> None:
    result = measure("ES256", iterations=300, rounds=10)
    assert result.bare_rate > 0
    assert result.ratio >= TARGET_RATIO, result
    assert result.sync_rate / result.bare_rate >= TARGET_RATIO, result
