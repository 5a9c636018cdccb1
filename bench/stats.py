"""Latency percentiles and the per-scenario figures the report prints."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's
    default), so p50 of an even count is the mean of the middle two. NaN for no values."""
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Figures:
    """One measured run: what the load generator saw and what each side's CPU cost."""

    name: str
    requests: int  # answered as expected
    errors: int  # wrong status, unexpected body, connection failure or timeout
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    server_cpu_ms: float = math.nan  # the server process tree
    hash_threads_cpu_ms: float = math.nan  # of which its hash pools' threads
    pg_cpu_ms: float = math.nan  # backends of the benchmark database
    pg_cluster_cpu_ms: float = math.nan  # the whole cluster (other databases' work too)
    client_cpu_ms: float = math.nan  # the load generator itself
    error_samples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def merge(self, other: Figures) -> Figures:
        """Two windows of the same scenario as one (interleaved rounds)."""
        return Figures(
            self.name,
            self.requests + other.requests,
            self.errors + other.errors,
            self.seconds + other.seconds,
            self.latencies_ms + other.latencies_ms,
            self.server_cpu_ms + other.server_cpu_ms,
            self.hash_threads_cpu_ms + other.hash_threads_cpu_ms,
            self.pg_cpu_ms + other.pg_cpu_ms,
            self.pg_cluster_cpu_ms + other.pg_cluster_cpu_ms,
            self.client_cpu_ms + other.client_cpu_ms,
            (self.error_samples + other.error_samples)[:5],
            list(dict.fromkeys(self.notes + other.notes)),
        )

    @property
    def attempts(self) -> int:
        return self.requests + self.errors

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else math.nan

    def per_request(self, total_ms: float) -> float:
        return total_ms / self.attempts if self.attempts else math.nan

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def summary(self) -> dict[str, Any]:
        """The JSON form: every figure the markdown table shows, raw totals kept alongside."""
        out = {k: v for k, v in asdict(self).items() if k != "latencies_ms"}
        out.update(
            rate=self.rate,
            p50_ms=self.p(50),
            p90_ms=self.p(90),
            p99_ms=self.p(99),
            max_ms=max(self.latencies_ms, default=math.nan),
            server_cpu_ms_per_request=self.per_request(self.server_cpu_ms),
            hash_threads_cpu_ms_per_request=self.per_request(self.hash_threads_cpu_ms),
            pg_cpu_ms_per_request=self.per_request(self.pg_cpu_ms),
            pg_cluster_cpu_ms_per_request=self.per_request(self.pg_cluster_cpu_ms),
            client_cpu_ms_per_request=self.per_request(self.client_cpu_ms),
        )
        return {k: _finite_or_none(v) for k, v in out.items()}


def _finite_or_none(value: Any) -> Any:
    """JSON has no NaN: a figure that was not measured is null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value
