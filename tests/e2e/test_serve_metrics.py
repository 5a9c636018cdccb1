"""`identity serve --workers 2` for real: every scrape, whichever worker answers it, counts
the requests every worker served; with IDENTITY_METRICS_PORT the management port serves
them and the public port does not; the access log is ours, JSON, one line per request."""

from __future__ import annotations

import json
from pathlib import Path

import anyio.to_thread
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from identity.db import migrations
from tests.conftest import TEST_SECRET
from tests.e2e.server import clean_environ, free_port, running_server

pytestmark = pytest.mark.e2e

ROUTE = "/.well-known/openid-configuration"
REQUESTS = 24
# Two workers import and calibrate in parallel: slow on a loaded machine.
STARTUP = 180


def served(text: str, route: str = ROUTE) -> float:
    """Requests to `route` in a scrape, summed over methods and status classes."""
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "identity_http_requests_total" and s.labels["route"] == route
    )


def send_requests(url: str) -> None:
    for _ in range(REQUESTS):
        # A new connection each time, so that the workers share the requests.
        assert httpx.get(f"{url}{ROUTE}", headers={"Connection": "close"}).status_code == 200


async def environment(url: str, **extra: str) -> dict[str, str]:
    if not url.startswith("sqlite"):
        await anyio.to_thread.run_sync(migrations.upgrade, url)
    return clean_environ(
        IDENTITY_DATABASE_URL=url,
        IDENTITY_SECRET_KEYS=f'["{TEST_SECRET}"]',
        IDENTITY_ARGON2_MEMORY_KIB="64",
        IDENTITY_ARGON2_TIME_COST="1",
        **extra,
    )


def scrape_public(cwd: Path, env: dict[str, str]) -> list[str]:
    with running_server(cwd, env, workers=2, timeout=STARTUP) as url:
        send_requests(url)
        scrapes = []
        for _ in range(4):
            r = httpx.get(f"{url}/metrics", headers={"Connection": "close"})
            assert r.status_code == 200
            scrapes.append(r.text)
    return scrapes


async def test_with_two_workers_every_scrape_counts_every_request(
    scratch_database_url: str, tmp_path: Path
) -> None:
    env = await environment(scratch_database_url)
    scrapes = await anyio.to_thread.run_sync(scrape_public, tmp_path, env)
    assert [served(text) for text in scrapes] == [REQUESTS] * len(scrapes)
    # Counted in the aggregate: each scrape counts the ones before it.
    assert [served(text, "/metrics") for text in scrapes] == [0, 1, 2, 3]


def scrape_management(cwd: Path, env: dict[str, str], port: int) -> dict[str, httpx.Response]:
    secret = "tok_Sup3rSecretQueryValue"
    with running_server(cwd, env, workers=2, timeout=STARTUP) as url:
        send_requests(url)
        httpx.get(f"{url}/healthz?access_token={secret}", headers={"User-Agent": "x" * 1000})
        management = f"http://127.0.0.1:{port}"
        return {
            "public": httpx.get(f"{url}/metrics"),
            "management": httpx.get(f"{management}/metrics"),
            "openmetrics": httpx.get(
                f"{management}/metrics", headers={"Accept": "application/openmetrics-text"}
            ),
            "elsewhere": httpx.get(f"{management}/healthz"),
        }


async def test_the_management_port_serves_metrics_and_the_public_port_does_not(
    scratch_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = await environment(scratch_database_url, IDENTITY_METRICS_PORT=str(port))
    answers = await anyio.to_thread.run_sync(scrape_management, tmp_path, env, port)
    assert answers["public"].status_code == 404
    assert answers["public"].json()["error"] == "not_found"
    management = answers["management"]
    assert management.status_code == 200
    assert management.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert served(management.text) == REQUESTS
    assert served(management.text, "/metrics") == 0  # the public 404 is `unmatched`
    assert served(management.text, "unmatched") == 1
    assert answers["openmetrics"].text.endswith("# EOF\n")
    assert answers["elsewhere"].status_code == 404

    log = await anyio.to_thread.run_sync(lambda: next(tmp_path.glob("server-*.log")).read_text())
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "identity.access"]
    assert len([a for a in access if a["route"] == ROUTE]) == REQUESTS
    health = [a for a in access if a["route"] == "/healthz" and a["user_agent"].startswith("x")]
    (line,) = health
    assert line["msg"] == "request"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["client_ip"] == "127.0.0.1"
    assert len(line["user_agent"]) == 200
    assert isinstance(line["duration_ms"], float)
    assert len(line["request_id"]) == 32
    assert "tok_Sup3rSecretQueryValue" not in log  # the query string is never logged
    assert not [line for line in lines if line["logger"].startswith("uvicorn.access")]
