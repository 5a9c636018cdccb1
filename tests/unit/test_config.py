from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from pydantic import ValidationError

from identity.config import Settings
from tests.conftest import TEST_SECRET


@pytest.mark.usefixtures("clean_env")
def test_development_defaults_need_no_setup() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.env == "development"
    assert s.database_url == "sqlite+aiosqlite:///./identity.db"
    assert s.signing_alg == "ES256"
    assert s.access_token_ttl == timedelta(minutes=10)
    assert s.refresh_reuse_grace == timedelta(seconds=10)
    assert s.lockout_threshold == 5
    assert s.password_min_length == 12
    assert s.rate_limit_enabled is True


@pytest.mark.usefixtures("clean_env")
def test_production_argon2_defaults_are_owasp() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (s.argon2_memory_kib, s.argon2_time_cost, s.argon2_parallelism) == (19 * 1024, 2, 1)


def test_environment_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_SECRET_KEYS", f'["{TEST_SECRET}", "older-secret"]')
    monkeypatch.setenv("IDENTITY_ACCESS_TOKEN_TTL", "120")
    monkeypatch.setenv("IDENTITY_TRUSTED_PROXIES", '["10.0.0.0/8", "::1/128"]')
    monkeypatch.setenv("IDENTITY_ISSUER", "https://id.example.com/")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.secrets() == [TEST_SECRET.encode(), b"older-secret"]
    assert s.access_token_ttl == timedelta(seconds=120)
    assert [str(n) for n in s.trusted_proxies] == ["10.0.0.0/8", "::1/128"]
    assert s.issuer == "https://id.example.com"
    assert TEST_SECRET not in repr(s)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"secret_keys": []}, "IDENTITY_SECRET_KEYS"),
        ({"database_url": "sqlite+aiosqlite:///./x.db"}, "IDENTITY_DATABASE_URL"),
        ({"issuer": "http://id.example.com"}, "IDENTITY_ISSUER"),
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict[str, object], named: str) -> None:
    safe: dict[str, object] = {
        "env": "production",
        "secret_keys": [TEST_SECRET],
        "database_url": "postgresql+asyncpg://u@db/identity",
        "issuer": "https://id.example.com",
    }
    Settings(_env_file=None, **safe)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match=named):
        Settings(_env_file=None, **{**safe, **overrides})  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"IDENTITY_ISSUER": "https://id.example.com"}, "IDENTITY_SECRET_KEYS"),
        ({"IDENTITY_SECRET_KEYS": f'["{TEST_SECRET}"]'}, "IDENTITY_DATABASE_URL"),
        (
            {
                "IDENTITY_SECRET_KEYS": f'["{TEST_SECRET}"]',
                "IDENTITY_DATABASE_URL": "postgresql+asyncpg://u@db/x",
            },
            "IDENTITY_ISSUER",
        ),
    ],
)
def test_cli_exits_nonzero_in_unsafe_production(
    env: dict[str, str], named: str, tmp_path: object
) -> None:
    clean = {k: v for k, v in __import__("os").environ.items() if not k.startswith("IDENTITY_")}
    proc = subprocess.run(
        [sys.executable, "-m", "identity", "serve"],
        env={**clean, "IDENTITY_ENV": "production", **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
        check=False,
    )
    assert proc.returncode != 0
    assert named in proc.stderr
    assert "Traceback" not in proc.stderr


def test_every_setting_says_what_it_does() -> None:
    """The configuration reference is generated from these descriptions."""
    undocumented = [
        n for n, f in Settings.model_fields.items() if not (f.description or "").strip()
    ]
    assert undocumented == []
