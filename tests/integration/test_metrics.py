"""GET /metrics on the real app: counts, route-template labels, content type, no secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from identity.metrics import Metrics
from tests.integration.conftest import AppClient

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


async def scrape(client: AppClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by (sample name, sorted labels)."""
    r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def requests_of(samples: dict[Any, float], method: str, route: str, status_class: str) -> float:
    labels = (("method", method), ("route", route), ("status_class", status_class))
    return samples.get(("identity_http_requests_total", labels), 0.0)


async def test_counts_each_request_by_route_and_status_class(client: AppClient) -> None:
    before = await scrape(client)
    assert requests_of(before, "GET", "/healthz", "2xx") == 0
    for _ in range(3):
        assert (await client.get("/healthz")).status_code == 200
    after = await scrape(client)
    assert requests_of(after, "GET", "/healthz", "2xx") == 3
    hist = (("method", "GET"), ("route", "/healthz"), ("status_class", "2xx"))
    assert after[("identity_http_request_duration_seconds_count", hist)] == 3
    assert after[("identity_http_request_duration_seconds_sum", hist)] > 0
    # The earlier scrape itself was counted too, under its own template.
    assert requests_of(after, "GET", "/metrics", "2xx") == 1


async def test_prometheus_content_type_and_openmetrics_on_request(
    client: AppClient,
) -> None:
    r = await client.get("/metrics")
    assert r.headers["content-type"] == PROMETHEUS_TEXT
    assert r.headers["cache-control"] == "no-store"
    assert "# TYPE identity_http_requests_total counter" in r.text
    om = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert om.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    assert om.text.endswith("# EOF\n")


async def test_labels_never_hold_raw_paths_query_strings_or_tokens(
    client: AppClient,
) -> None:
    secret = "tok_Sup3rSecretValue"
    await client.get(
        f"/healthz?access_token={secret}", headers={"Authorization": f"Bearer {secret}"}
    )
    await client.get(f"/.well-known/jwks.json?refresh_token={secret}")
    await client.get(f"/users/{secret}/sessions")  # no such route: a scanner, or an id
    await client.post("/healthz", content=secret)  # known path, wrong method: 405
    await client.request("BREW", "/healthz")  # made-up methods must not add series either

    text = (await client.get("/metrics")).text
    assert secret not in text
    assert "/users/" not in text
    samples = await scrape(client)
    assert requests_of(samples, "GET", "/healthz", "2xx") == 1
    assert requests_of(samples, "GET", "/.well-known/jwks.json", "2xx") == 1
    assert requests_of(samples, "GET", "unmatched", "4xx") == 1
    assert requests_of(samples, "POST", "/healthz", "4xx") == 1
    assert requests_of(samples, "other", "/healthz", "4xx") == 1
    routes = {
        dict(labels)["route"] for (name, labels) in samples if name.startswith("identity_http")
    }
    assert routes <= {"/healthz", "/.well-known/jwks.json", "/metrics", "unmatched"}


async def test_build_info_uptime_and_process_metrics(client: AppClient) -> None:
    samples = await scrape(client)
    info = [labels for (name, labels) in samples if name == "identity_build_info"]
    assert len(info) == 1
    assert dict(info[0])["version"] == "0.1.0"
    assert samples[("identity_uptime_seconds", ())] >= 0
    assert ("process_start_time_seconds", ()) in samples


async def test_each_app_has_its_own_registry(make_client: Callable[..., Any]) -> None:
    first, second = await make_client(), await make_client()
    await first.get("/healthz")
    await first.get("/healthz")
    assert requests_of(await scrape(first), "GET", "/healthz", "2xx") == 2
    assert requests_of(await scrape(second), "GET", "/healthz", "2xx") == 0
    assert first.services.metrics is not second.services.metrics


async def test_features_can_add_metrics_to_the_app_registry(client: AppClient) -> None:
    metrics: Metrics = client.services.metrics
    logins = metrics.counter("identity_logins", "Password logins by outcome.", ["outcome"])
    assert metrics.counter("identity_logins", "Password logins by outcome.", ["outcome"]) is logins
    logins.labels("succeeded").inc()
    samples = await scrape(client)
    assert samples[("identity_logins_total", (("outcome", "succeeded"),))] == 1
