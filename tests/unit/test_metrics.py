"""The metrics middleware on a small Starlette app: templates through mounts, 5xx, the API."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from identity.http.edge import EdgeMiddleware
from identity.http.metrics import route_template
from identity.metrics import Metrics


async def ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def boom(request: Request) -> PlainTextResponse:
    raise RuntimeError("handler failed")


ROUTES = [
    Route("/sessions/{session_id}", ok, methods=["DELETE"]),
    Route("/boom", boom),
    Mount("/admin", routes=[Route("/users/{user_id}/unlock", ok, methods=["POST"])]),
]


def count(metrics: Metrics, method: str, route: str, status_class: str) -> float | None:
    return metrics.registry.get_sample_value(
        "identity_http_requests_total",
        {"method": method, "route": route, "status_class": status_class},
    )


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(version="9.9.9")


@pytest.fixture
def client(metrics: Metrics) -> httpx.AsyncClient:
    app = Starlette(routes=ROUTES, middleware=[Middleware(EdgeMiddleware, metrics=metrics)])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_path_parameters_and_mounts_label_by_template(
    client: httpx.AsyncClient, metrics: Metrics
) -> None:
    async with client:
        for sid in ("0b7e", "91aa", "ffff"):
            assert (await client.delete(f"/sessions/{sid}")).status_code == 200
        assert (await client.post("/admin/users/42/unlock")).status_code == 200
        assert (await client.get("/admin/users/42/unlock")).status_code == 405
        assert (await client.get("/admin/nothing-here")).status_code == 404
    assert count(metrics, "DELETE", "/sessions/{session_id}", "2xx") == 3
    assert count(metrics, "POST", "/admin/users/{user_id}/unlock", "2xx") == 1
    assert count(metrics, "GET", "/admin/users/{user_id}/unlock", "4xx") == 1
    assert count(metrics, "GET", "unmatched", "4xx") == 1


async def test_a_handler_exception_counts_as_5xx(
    client: httpx.AsyncClient, metrics: Metrics
) -> None:
    async with client:
        assert (await client.get("/boom")).status_code == 500
    assert count(metrics, "GET", "/boom", "5xx") == 1


def test_route_template_prefers_a_full_match_over_an_earlier_partial() -> None:
    routes = [Route("/me", ok, methods=["GET"]), Route("/me", ok, methods=["PATCH"])]
    scope = {"type": "http", "path": "/me", "method": "PATCH", "root_path": ""}
    assert route_template(routes, scope) == "/me"
    assert route_template(routes, {**scope, "path": "/you"}) is None


def test_uptime_and_build_info() -> None:
    now = [100.0]
    metrics = Metrics(version="1.2.3", monotonic=lambda: now[0])
    now[0] = 142.5
    assert metrics.registry.get_sample_value("identity_uptime_seconds") == 42.5
    labels = metrics.registry.get_sample_value(
        "identity_build_info",
        {"version": "1.2.3", "python": __import__("platform").python_version()},
    )
    assert labels == 1


def test_asking_twice_for_one_metric_needs_the_same_kind_and_labels(metrics: Metrics) -> None:
    outcomes = metrics.counter("identity_logins", "Logins by outcome.", ["outcome"])
    assert metrics.counter("identity_logins", "Logins by outcome.", ["outcome"]) is outcomes
    with pytest.raises(ValueError, match="already exists as a Counter"):
        metrics.gauge("identity_logins", "Logins by outcome.", ["outcome"])
    with pytest.raises(ValueError, match="already exists"):
        metrics.counter("identity_logins", "Logins by outcome.", ["outcome", "user_id"])
    seconds = metrics.histogram("identity_hash_seconds", "Hash time.", buckets=(0.1, 1.0))
    seconds.observe(0.5)
    assert metrics.registry.get_sample_value("identity_hash_seconds_bucket", {"le": "1.0"}) == 1
