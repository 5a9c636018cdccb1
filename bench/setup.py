"""The service under test, prepared the same way for the benchmark and for profiling: the
settings it runs with, its migrated and seeded database."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass

from bench.config import Config
from bench.database import seed_users, sqlalchemy_url
from bench.fixtures import PASSWORD
from identity.cli.server import worker_environment
from identity.config import Settings
from identity.crypto.passwords import Argon2Parameters, PasswordHasher


def service_env(url: str, cfg: Config) -> dict[str, str]:
    """Production settings, but for rate limiting: every request comes from 127.0.0.1."""
    return {
        "IDENTITY_ENV": "production",
        "IDENTITY_DATABASE_URL": url,
        "IDENTITY_SECRET_KEYS": json.dumps([secrets.token_urlsafe(48)]),
        "IDENTITY_ISSUER": "https://identity.bench.invalid",
        "IDENTITY_RATE_LIMIT_ENABLED": "false",
        "IDENTITY_LOG_LEVEL": cfg.log_level,
        "PYTHONUNBUFFERED": "1",
    }


@dataclass(frozen=True)
class Service:
    url: str
    env: dict[str, str]  # the server's whole environment
    settings: Settings  # as the server reads them
    params: Argon2Parameters
    hash_slots: int  # concurrent hashes over all workers
    login_clients: int
    emails: list[str]


async def prepare(cfg: Config, database: str) -> Service:
    """Migrate `database` with `identity migrate` and seed its users."""
    url = sqlalchemy_url(cfg.admin_dsn, database)
    os.environ.update(service_env(url, cfg))  # so Settings() here reads what the server will
    settings = Settings()
    params = Argon2Parameters(
        settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism
    )
    env = dict(os.environ)
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "identity", "migrate"],
        env=env,
        check=True,
        capture_output=True,
    )
    emails = await seed_users(url, cfg.users, PasswordHasher(params).hash(PASSWORD))
    # As `identity serve --workers` shares the CPUs among its workers (cli/server.py).
    env.update(worker_environment(settings, cfg.workers))
    slots = cfg.workers * int(env.get("IDENTITY_HASH_CONCURRENCY", settings.hash_concurrency))
    return Service(url, env, settings, params, slots, cfg.login_clients or 2 * slots, emails)
