"""docker-compose.yml's services, run on the host: `identity migrate`, then `identity serve`.

No Docker engine runs here, so this does what compose does after the image is built: the
services' environment (interpolated as compose would, the database URL swapped for a
scratch PostgreSQL database), the migrate command, then the server, then the probes an
orchestrator and Prometheus use, including the image's own HEALTHCHECK command.

The commands run from the development install and a directory outside the checkout; the
image holds the built wheel instead, and `.ci/wheel_smoke.py` runs the same `identity
migrate` and `identity serve` from that wheel in a fresh virtualenv.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx
import pytest

from identity.db.engine import create_engine
from identity.db.migrations import current_revision, head_revision
from tests.conftest import TEST_SECRET
from tests.docker_files import dockerfile_stages, load_compose, service_environment
from tests.e2e.server import clean_environ, free_port, running_server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ISSUER = "https://identity.test"


def compose_env(database_url: str) -> dict[str, str]:
    compose = load_compose()
    variables = {
        "IDENTITY_SECRET_KEYS": json.dumps([TEST_SECRET]),
        "IDENTITY_ISSUER": ISSUER,
        "POSTGRES_PASSWORD": "unused-here",
    }
    env = service_environment(compose, "identity", variables)
    assert env == service_environment(compose, "migrate", variables)
    assert env["IDENTITY_ENV"] == "production"
    assert env["IDENTITY_METRICS_PORT"] == "9464"
    # The management port as compose sets it, but on loopback and a free port here.
    local = {"IDENTITY_METRICS_HOST": "127.0.0.1", "IDENTITY_METRICS_PORT": str(free_port())}
    return clean_environ(**{**env, **local, "IDENTITY_DATABASE_URL": database_url})


def healthcheck_argv(port: int) -> list[str]:
    """The image's HEALTHCHECK, aimed at the test server's port instead of 8000."""
    (check,) = dockerfile_stages()[-1].all("HEALTHCHECK")
    python, flag, code = check.exec_form()
    assert python == "python"
    return [sys.executable, flag, code.replace(":8000/", f":{port}/")]


async def test_migrate_then_serve_with_the_compose_environment(
    scratch_database_url: str, tmp_path: Path
) -> None:
    env = compose_env(scratch_database_url)
    migrate_argv = load_compose()["services"]["migrate"]["command"]
    identity_cli = Path(sys.executable).with_name(migrate_argv[0])  # the console script
    with anyio.fail_after(60):
        migrated = await anyio.run_process(
            [str(identity_cli), *migrate_argv[1:]], env=env, cwd=tmp_path, check=False
        )
    assert migrated.returncode == 0, migrated.stderr.decode()
    engine = create_engine(scratch_database_url)
    try:
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()

    # `identity serve` as the identity service runs it, bound to loopback on a free port.
    assert load_compose()["services"]["identity"]["command"][:2] == ["identity", "serve"]
    with running_server(tmp_path, env) as url:
        port = urlsplit(url).port
        assert port is not None
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz", headers={"X-Request-ID": "compose-e2e-1"})
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {
                "database": "ok",
                "schema": "ok",
                "signing_key": "ok",
            }
            discovery = await http.get("/.well-known/openid-configuration")
            assert discovery.json()["issuer"] == ISSUER
            # Production keeps /metrics off the public port; the management port has it.
            assert (await http.get("/metrics")).status_code == 404
            management = f"http://127.0.0.1:{env['IDENTITY_METRICS_PORT']}/metrics"
            scraped = await http.get(management)
            assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
            assert (
                'identity_http_requests_total{method="GET",route="/readyz",status_class="2xx"} 1.0'
                in scraped.text
            )
        with anyio.fail_after(30):
            healthy = await anyio.run_process(healthcheck_argv(port), check=False)
        assert healthy.returncode == 0, healthy.stderr.decode()
        log = (tmp_path / f"server-{port}.log").read_text()

    with anyio.fail_after(30):
        stopped = await anyio.run_process(healthcheck_argv(port), check=False)
    assert stopped.returncode != 0

    # JSON logs carry the request id; the secret never reaches them.
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    readyz = [r for r in records if r.get("route") == "/readyz"]
    assert readyz
    assert readyz[0]["request_id"] == "compose-e2e-1"
    assert TEST_SECRET not in log
