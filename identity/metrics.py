"""The service's Prometheus metrics: one registry per app instance, and a small API on it.

Each `create_app()` builds its own `Metrics`, so several apps in one process (the tests)
never share or collide on a collector, and each uvicorn worker process exposes only its
own numbers (docs/operations.md: PROMETHEUS_MULTIPROC_DIR would be the remedy; not built).

Features add their own metrics through `counter()`, `histogram()` and `gauge()`, which
return the existing metric when asked twice for the same one. Keep label values to small
closed sets (an outcome, a grant type): never a user id, an email, a path or a token.
This module does not import Starlette, so services may be handed a metric from it.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from identity import __version__

# Covers a JWKS hit (~1 ms) up to a password hash under load (seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The route label of a request that matched no route (404s, scanners): raw paths never.
UNMATCHED_ROUTE = "unmatched"

M = TypeVar("M", bound=MetricWrapperBase)


class Metrics:
    """A per-app `CollectorRegistry` with HTTP request metrics, build info and uptime."""

    def __init__(
        self, *, version: str = __version__, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._by_name: dict[str, MetricWrapperBase] = {}
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
        build = Info("identity_build", "Version of the running service.", registry=self.registry)
        build.info({"version": version, "python": platform.python_version()})
        started = monotonic()
        uptime = self.gauge("identity_uptime_seconds", "Seconds since this app instance started.")
        uptime.set_function(lambda: monotonic() - started)

    def counter(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Counter:
        """The counter `name` (exposed as `name_total`), created on first use."""
        return self._metric(Counter, name, documentation, labelnames)

    def gauge(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self._metric(Gauge, name, documentation, labelnames)

    def histogram(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> Histogram:
        return self._metric(Histogram, name, documentation, labelnames, buckets=tuple(buckets))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (
            method if method in HTTP_METHODS else "other",
            route,
            f"{status // 100}xx",
        )
        self.http_requests.labels(*labels).inc()
        self.http_request_duration.labels(*labels).observe(seconds)

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition body and its content type, negotiated from an `Accept` header."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type

    def _metric(
        self,
        kind: type[M],
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        **options: Any,
    ) -> M:
        existing = self._by_name.get(name)
        if existing is None:
            metric = kind(name, documentation, labelnames, registry=self.registry, **options)
            self._by_name[name] = metric
            return metric
        # Two features asking for one metric must mean the same one.
        if not isinstance(existing, kind) or existing._labelnames != tuple(labelnames):
            raise ValueError(
                f"metric {name!r} already exists as a {type(existing).__name__} "
                f"with labels {existing._labelnames}"
            )
        return existing
