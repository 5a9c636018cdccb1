"""The service's Prometheus metrics: every metric it exposes is defined or listed here.

Two modes, chosen once per process (docs/operations.md, "Metrics with several workers"):

- **single-process** (the default: tests, CLI commands): each `Metrics` has its own
  `CollectorRegistry`, so several apps in one process never share or collide on a series,
  and a scrape renders that registry;
- **multiprocess** (`identity serve`, which calls `enable_multiprocess()` before any metric
  exists and before uvicorn starts its workers): every value lives in prometheus-client's
  memory-mapped file of the process that owns it, in one directory; a scrape, whichever
  worker (or the master's management server) answers it, aggregates the whole directory.
  The process is then the unit: `Metrics` made in one process share one set of metrics, as
  they would share the files anyway.

Features add their own metrics through `counter()`, `histogram()` and `gauge()`, which
return the existing metric when asked twice for the same one. Keep label values to small
closed sets (an outcome, a grant type): never a user id, an email, a path or a token.
This module does not import Starlette, so services may be handed a metric from it.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from identity import __version__

logger = logging.getLogger("identity.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Covers a JWKS hit (~1 ms) up to a password hash under load (seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# One argon2id computation: a few ms with test parameters, ~50-500 ms in production.
HASH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The route label of a request that matched no route (404s, scanners): raw paths never.
UNMATCHED_ROUTE = "unmatched"

# The closed label sets of the service's own counters (docs/operations.md, §6).
LOGIN_OUTCOMES = (
    "succeeded",
    "invalid_credentials",  # a wrong password (or the account changed during the check)
    "unknown_account",
    "locked",  # the account (for new devices) or the device presented
    "disabled",
    "throttled",  # the per-account limit; per-IP refusals: identity_throttle_refusals_total
    "client_refused",  # the client failed to authenticate, or may not have what it asked
    "unavailable",  # load shedding or a database outage: nothing was decided
    "error",
)
REFRESH_OUTCOMES = (
    "rotated",
    "grace_replay",
    "reuse_detected",
    "invalid",
    "client_refused",
    "unavailable",
    "error",
)
LOCKOUT_KINDS = ("account", "device")
HASH_OPERATIONS = ("hash", "verify")

GaugeMode = Literal["livesum", "livemax", "livemin", "sum", "max", "min", "mostrecent"]
M = TypeVar("M", bound=MetricWrapperBase)

# Multiprocess mode: the metrics of this process, whichever `Metrics` asked first.
_process_metrics: dict[str, MetricWrapperBase] = {}


def multiprocess_dir() -> str | None:
    """The directory of this process's multiprocess mode, or None (single-process mode)."""
    if getattr(values.ValueClass, "_multiprocess", False):
        return os.environ.get(MULTIPROC_ENV)
    return None


def enable_multiprocess(path: str) -> None:
    """Switch this process, and every process it starts from now on, to multiprocess mode.

    prometheus-client decides its value class when first imported, from the environment:
    processes started later (uvicorn's workers) read the variable set here; this one, which
    imported it already, is switched by hand. Call it before any metric exists.
    """
    os.environ[MULTIPROC_ENV] = path
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes(path: str) -> None:
    """Drop the live gauges of processes that are gone without saying so (a killed worker);
    their counters stay, so totals never go down."""
    pids = {int(m.group(1)) for f in os.listdir(path) if (m := _LIVE_GAUGE_FILE.fullmatch(f))}
    for pid in pids:
        if not _alive(pid):
            mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


def aggregate_registry(path: str) -> CollectorRegistry:
    """A registry that collects every process's files in `path`: what a scrape serves in
    multiprocess mode. Per-process collectors (process_*) are left out, as they would
    describe only the process that happens to answer."""
    forget_dead_processes(path)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    PlatformCollector(registry=registry)  # python_info: the same in every worker
    return registry


class Outcomes:
    """A one-label counter over a closed set of values, each child bound up front: every
    series exists from zero (so `rate()` sees the first event), an unknown value fails
    loudly, and counting costs no label lookup."""

    def __init__(self, counter: Counter, labels: Iterable[str]) -> None:
        self._children = {label: counter.labels(label) for label in labels}

    def inc(self, label: str) -> None:
        self._children[label].inc()


class Metrics:
    """HTTP request metrics, the service's own counters, build info and uptime, on a
    per-app registry (single-process mode) or the process's files (multiprocess)."""

    def __init__(
        self, *, version: str = __version__, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.multiprocess = multiprocess_dir()
        self.registry = CollectorRegistry()
        if not self.multiprocess:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        self._by_name: dict[str, MetricWrapperBase] = {}
        self._sampled: list[tuple[Gauge, Callable[[], float]]] = []
        # (method, route, status class) -> the two children; a closed set of keys.
        self._request_series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}
        self.http_requests = self.counter(
            "identity_http_requests",
            "HTTP requests answered, by method, route template and status class.",
            ("method", "route", "status_class"),
        )
        self.http_request_duration = self.histogram(
            "identity_http_request_duration_seconds",
            "Time from request start to the end of the response, in seconds.",
            ("method", "route", "status_class"),
        )
        self.logins = Outcomes(
            self.counter("identity_logins", "Password logins, by outcome.", ("outcome",)),
            LOGIN_OUTCOMES,
        )
        self.refreshes = Outcomes(
            self.counter(
                "identity_refreshes", "Refresh-token redemptions, by outcome.", ("outcome",)
            ),
            REFRESH_OUTCOMES,
        )
        self.lockouts = Outcomes(
            self.counter(
                "identity_lockouts",
                "Locks after too many failed passwords, by kind (the account, or one device).",
                ("kind",),
            ),
            LOCKOUT_KINDS,
        )
        hash_seconds = self.histogram(
            "identity_password_hash_duration_seconds",
            "Time one password hash or verification takes in the pool, queueing excluded.",
            ("operation",),
            buckets=HASH_BUCKETS,
        )
        self.password_hash_seconds = {op: hash_seconds.labels(op) for op in HASH_OPERATIONS}
        build = self.gauge(
            "identity_build_info",
            "Version of the running service (always 1).",
            ("version", "python"),
            multiprocess_mode="livemax",
        )
        build.labels(version, platform.python_version()).set(1)
        started = monotonic()
        self.sampled_gauge(
            "identity_uptime_seconds",
            "Seconds since this app instance (with several workers: the oldest) started.",
            lambda: monotonic() - started,
            multiprocess_mode="livemax",
        )

    def counter(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Counter:
        """The counter `name` (exposed as `name_total`), created on first use."""
        return self._metric(Counter, name, documentation, labelnames)

    def gauge(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        multiprocess_mode: GaugeMode = "livesum",
    ) -> Gauge:
        """A gauge; `multiprocess_mode` says how workers' values combine (livesum: a total
        over live workers, livemax: the largest)."""
        return self._metric(
            Gauge, name, documentation, labelnames, multiprocess_mode=multiprocess_mode
        )

    def histogram(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> Histogram:
        return self._metric(Histogram, name, documentation, labelnames, buckets=tuple(buckets))

    def sampled_gauge(
        self,
        name: str,
        documentation: str,
        read: Callable[[], float],
        *,
        multiprocess_mode: GaugeMode = "livesum",
    ) -> Gauge:
        """A gauge whose value is read from `read()` rather than pushed: at scrape time in
        single-process mode; in multiprocess mode by `sample()`, which the app runs every
        few seconds and before each scrape it answers (a callback cannot cross processes).
        """
        gauge = self.gauge(name, documentation, multiprocess_mode=multiprocess_mode)

        def safe_read() -> float:
            try:
                return float(read())
            except Exception:  # a scrape must not fail because one source did
                logger.warning("metric %s could not be read", name, exc_info=True)
                return math.nan

        if self.multiprocess:
            self._sampled.append((gauge, safe_read))
        else:
            gauge.set_function(safe_read)
        return gauge

    def sample(self) -> None:
        """Write the sampled gauges' current values (multiprocess mode; else a no-op)."""
        for gauge, read in self._sampled:
            gauge.set(read())

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (
            method if method in HTTP_METHODS else "other",
            route,
            f"{status // 100}xx",
        )
        series = self._request_series.get(labels)
        if series is None:  # labels() validates and locks: once per series, not per request
            series = (
                self.http_requests.labels(*labels),
                self.http_request_duration.labels(*labels),
            )
            self._request_series[labels] = series
        series[0].inc()
        series[1].observe(seconds)

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition body and its content type, negotiated from an `Accept` header."""
        encode, content_type = choose_encoder(accept)
        if self.multiprocess:
            self.sample()
            return encode(aggregate_registry(self.multiprocess)), content_type
        return encode(self.registry), content_type

    def close(self) -> None:
        """This process stops serving: its live gauges leave the aggregate (multiprocess)."""
        if self.multiprocess:
            mark_process_dead(os.getpid(), self.multiprocess)  # type: ignore[no-untyped-call]

    def _metric(
        self,
        kind: type[M],
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        **options: Any,
    ) -> M:
        by_name = _process_metrics if self.multiprocess else self._by_name
        existing = by_name.get(name)
        if existing is None:
            registry = None if self.multiprocess else self.registry
            metric = kind(name, documentation, labelnames, registry=registry, **options)
            by_name[name] = metric
            return metric
        # Two features asking for one metric must mean the same one.
        if not isinstance(existing, kind) or existing._labelnames != tuple(labelnames):
            raise ValueError(
                f"metric {name!r} already exists as a {type(existing).__name__} "
                f"with labels {existing._labelnames}"
            )
        return existing
