"""The service's own metrics on a real app: each counter moves on the event it counts, the
gauges read live state, and with a management port /metrics leaves the public listener."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from identity.app import create_app
from identity.clock import FixedClock
from identity.db.models import User
from identity.metrics import LOCKOUT_KINDS, LOGIN_OUTCOMES, REFRESH_OUTCOMES
from tests.conftest import make_settings
from tests.factories import login, password_grant, refresh_grant, register
from tests.integration.conftest import AppClient
from tests.integration.test_metrics import scrape

WRONG = "definitely not the password"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def outcome(samples: Samples, metric: str, label: str, value: str) -> float:
    return samples[(metric, ((label, value),))]


def logins(samples: Samples, value: str) -> float:
    return outcome(samples, "identity_logins_total", "outcome", value)


def refreshes(samples: Samples, value: str) -> float:
    return outcome(samples, "identity_refreshes_total", "outcome", value)


def lockouts(samples: Samples, kind: str) -> float:
    return outcome(samples, "identity_lockouts_total", "kind", kind)


async def test_every_outcome_is_a_series_from_zero(client: AppClient) -> None:
    samples = await scrape(client)
    assert [logins(samples, o) for o in LOGIN_OUTCOMES] == [0] * len(LOGIN_OUTCOMES)
    assert [refreshes(samples, o) for o in REFRESH_OUTCOMES] == [0] * len(REFRESH_OUTCOMES)
    assert [lockouts(samples, k) for k in LOCKOUT_KINDS] == [0, 0]


async def test_logins_count_by_outcome(
    client: AppClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await register(client)
    await register(client, "bob@example.com")
    await login(client)
    await password_grant(client, "alice@example.com", WRONG)
    await password_grant(client, "nobody@example.com", WRONG)
    await password_grant(client, client_id="no-such-client")
    async with sessionmaker() as session:
        stmt = update(User).where(User.email_normalized == "bob@example.com")
        await session.execute(stmt.values(is_active=False))
        await session.commit()
    await password_grant(client, "bob@example.com")

    samples = await scrape(client)
    assert logins(samples, "succeeded") == 1
    assert logins(samples, "invalid_credentials") == 1
    assert logins(samples, "unknown_account") == 1
    assert logins(samples, "client_refused") == 1
    assert logins(samples, "disabled") == 1
    assert logins(samples, "locked") == 0
    # Registration hashed twice; the logins verified (dummy work included) four times.
    hashes = (("operation", "hash"),)
    verifies = (("operation", "verify"),)
    assert samples[("identity_password_hash_duration_seconds_count", hashes)] == 2
    assert samples[("identity_password_hash_duration_seconds_count", verifies)] == 4
    assert samples[("identity_password_hash_duration_seconds_sum", verifies)] > 0


async def test_lockouts_count_by_kind_and_locked_logins(client: AppClient) -> None:
    await register(client)
    device = (await login(client))["device_token"]
    threshold = client.settings.lockout_threshold
    for _ in range(threshold):  # on the known device: only that device locks
        await password_grant(client, "alice@example.com", WRONG, device_token=device)
    after_device = await scrape(client)
    assert lockouts(after_device, "device") == 1
    assert lockouts(after_device, "account") == 0

    for _ in range(threshold):  # from unknown devices: the account locks
        await password_grant(client, "alice@example.com", WRONG)
    await password_grant(client)  # the right password, refused: locked
    await password_grant(client, device_token=device)
    samples = await scrape(client)
    assert lockouts(samples, "device") == 1
    assert lockouts(samples, "account") == 1
    assert logins(samples, "locked") == 2
    assert logins(samples, "invalid_credentials") == 2 * threshold


async def test_a_wrong_current_password_that_locks_counts_as_an_account_lockout(
    client: AppClient,
) -> None:
    await register(client)
    headers = {"Authorization": f"Bearer {(await login(client))['access_token']}"}
    for _ in range(client.settings.lockout_threshold):
        r = await client.post(
            "/change-password",
            json={"current_password": WRONG, "new_password": "an entirely new passphrase"},
            headers=headers,
        )
        assert r.status_code == 400, r.text
    assert lockouts(await scrape(client), "account") == 1


async def test_refreshes_count_by_outcome(client: AppClient, clock: FixedClock) -> None:
    await register(client)
    first = (await login(client))["refresh_token"]
    second = (await refresh_grant(client, first)).json()["refresh_token"]
    assert (await refresh_grant(client, first)).status_code == 200  # within the grace window
    clock.advance(client.settings.refresh_reuse_grace.total_seconds() + 1)
    assert (await refresh_grant(client, first)).status_code == 400  # reuse: the session ends
    assert (await refresh_grant(client, second)).status_code == 400  # ended
    assert (await refresh_grant(client, "rt_not.a.token")).status_code == 400

    samples = await scrape(client)
    assert refreshes(samples, "rotated") == 1
    assert refreshes(samples, "grace_replay") == 1
    assert refreshes(samples, "reuse_detected") == 1
    assert refreshes(samples, "invalid") == 2


async def test_throttled_logins_and_throttle_refusals(make_client: Callable[..., Any]) -> None:
    client = await make_client(
        rate_limit_enabled=True, rate_limit_account_per_minute=1, rate_limit_token_per_minute=3
    )
    await register(client)
    await password_grant(client, "alice@example.com", WRONG)
    r = await password_grant(client, "alice@example.com", WRONG)
    assert r.status_code == 429
    await password_grant(client, "alice@example.com", WRONG)
    assert (await password_grant(client, "alice@example.com", WRONG)).status_code == 429
    samples = await scrape(client)
    assert logins(samples, "throttled") == 2
    refusals = "identity_throttle_refusals_total"
    assert samples[(refusals, (("rule", "token-account"),))] == 2
    assert samples[(refusals, (("rule", "token"),))] == 1  # the 4th /token, per IP


async def test_gauges_read_the_pool_the_hash_queue_and_the_key_age(
    client: AppClient, clock: FixedClock
) -> None:
    clock.advance(42)
    samples = await scrape(client)
    assert samples[("identity_signing_key_age_seconds", ())] == 42
    assert samples[("identity_password_hash_queue_depth", ())] == 0
    assert samples[("identity_db_pool_in_use", ())] >= 0
    # A connection checked out is seen at the next scrape.
    async with client.services.engine.connect():
        held = await scrape(client)
    assert held[("identity_db_pool_in_use", ())] == samples[("identity_db_pool_in_use", ())] + 1


async def test_with_a_management_port_metrics_leave_the_public_listener(
    make_client: Callable[..., Any],
) -> None:
    client = await make_client(metrics_port=9464)
    r = await client.get("/metrics")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    assert (await client.get("/healthz")).status_code == 200


def test_production_never_serves_metrics_on_the_public_port() -> None:
    """Outcomes that the public answers merge (unknown account, wrong password, locks) are
    told apart in the metrics: production keeps them on the management port only."""
    production = {
        "env": "production",
        "issuer": "https://identity.test",
        "database_url": "postgresql+asyncpg://nobody@127.0.0.1:1/never_connected",
    }
    paths = {getattr(r, "path", None) for r in create_app(make_settings(**production)).routes}
    assert "/metrics" not in paths
    assert "/healthz" in paths
    with_port = create_app(make_settings(**production, metrics_port=9464)).routes
    assert "/metrics" not in {getattr(r, "path", None) for r in with_port}
    development = {getattr(r, "path", None) for r in create_app(make_settings()).routes}
    assert "/metrics" in development


async def test_a_lockout_whose_commit_fails_is_not_counted(client: AppClient) -> None:
    await register(client)
    threshold = client.settings.lockout_threshold
    for _ in range(threshold - 1):
        await password_grant(client, "alice@example.com", WRONG)

    def refuse(_session: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("the database went away"))

    # Every commit fails from here: the guess that would lock is never kept.
    event.listen(Session, "before_commit", refuse)
    try:
        r = await password_grant(client, "alice@example.com", WRONG)
    finally:
        event.remove(Session, "before_commit", refuse)
    assert r.status_code == 503, r.text
    assert lockouts(await scrape(client), "account") == 0
    locked = (await password_grant(client, "alice@example.com", WRONG)).status_code
    assert locked == 400  # this one locks, and counts
    assert lockouts(await scrape(client), "account") == 1
