"""`identity serve --workers N` shares the CPUs among the workers' hash pools (at least 2
each), unless the operator set IDENTITY_HASH_CONCURRENCY: N workers each taking every CPU
would run N x CPUs argon2 computations at once, each with its own memory."""

from __future__ import annotations

import os

import pytest

from identity.cli.server import worker_environment
from identity.config import Settings, hash_concurrency_per_worker
from tests.conftest import TEST_SECRET


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in list(os.environ):
        if name.startswith("IDENTITY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IDENTITY_SECRET_KEYS", f'["{TEST_SECRET}"]')
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


@pytest.mark.parametrize(
    ("cpus", "workers", "each"),
    [(8, 1, 8), (8, 2, 4), (16, 4, 4), (8, 3, 2), (8, 8, 2), (2, 2, 2), (1, 1, 2)],
)
def test_the_cpus_are_shared_among_the_workers(
    monkeypatch: pytest.MonkeyPatch, cpus: int, workers: int, each: int
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: cpus)
    assert hash_concurrency_per_worker(workers) == each
    env = worker_environment(settings(monkeypatch), workers)
    assert env == {"IDENTITY_HASH_CONCURRENCY": str(each)}


def test_an_operators_choice_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    chosen = settings(monkeypatch, IDENTITY_HASH_CONCURRENCY="3")
    assert worker_environment(chosen, 4) == {}
    assert chosen.hash_concurrency == 3
