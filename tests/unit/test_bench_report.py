"""The benchmark's verdicts and report (bench/targets.py, bench/report.py), its options and
the client_credentials hook, on made-up figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import clients
from bench.config import QUICK, SCENARIOS, parse
from bench.report import write
from bench.stats import Figures
from bench.targets import Run, evaluate


def figures(name: str, requests: int, cpu_ms_per_request: float, p99: float = 1.0) -> Figures:
    latencies = [p99 / 2] * (requests - 1) + [p99] if requests else []
    return Figures(
        name,
        requests,
        0,
        10.0,
        latencies,
        server_cpu_ms=cpu_ms_per_request * requests,
        pg_cpu_ms=0.5 * requests,
    )


def a_run() -> Run:
    run = Run(meta={
        "title": "test run", "started": "now", "commit": "abc", "cpus": 2,
        "loadavg_start": "0.1", "loadavg_end": "0.2", "postgres": "15", "python": "3.11",
        "workers": 2, "settings": "production", "argon2": "m=19456", "hash_concurrency": 2,
        "load": "fresh connections", "notes": ["a note"],
    })  # fmt: skip
    run.baselines = {
        "starlette": figures("bare Starlette route", 1000, 0.3),
        "argon2": figures("bare argon2id verify", 800, 24.0),
    }
    run.scenarios = {
        "login": figures("login", 780, 25.5),  # 0.975 x the rate, 1.5 ms over the hash
        "refresh": figures("refresh", 1000, 3.2),  # over 1.5 ms
        "me": figures("/me", 1000, 0.5),
        "jwks": figures("JWKS", 1000, 0.2),  # over 0.15 ms
        "jwks_304": figures("JWKS If-None-Match (304)", 1000, 0.1),
        "mixed: refresh, idle": figures("mixed: refresh, idle", 100, 0, p99=10.0),
        "mixed: refresh, under logins": figures("mixed: refresh, under logins", 100, 0, p99=60.0),
    }
    run.unavailable = {"client_credentials": "not available in this build: no such grant"}
    run.chains = {
        "chains": 4, "live": 4, "mismatched": [], "reuse_events": 0, "rehash_events": 0
    }  # fmt: skip
    return run


def test_each_target_is_judged_against_its_own_run() -> None:
    verdicts = {(v.scenario, v.target): v.passed for v in evaluate(a_run())}
    assert verdicts == {
        ("login", "rate >= 0.95 x bare verify"): True,
        ("login", "server CPU <= hash CPU + 2 ms"): True,
        ("refresh", "server CPU <= 1.5 ms"): False,
        ("me", "server CPU <= 0.6 ms"): True,
        ("jwks", "server CPU <= 0.15 ms"): False,
        ("client_credentials", "server CPU <= 1 ms"): None,
        ("refresh", "zero errors"): True,
        ("refresh", "one live successor per chain"): True,
        ("jwks_304", "a 304 cheaper than a 200"): True,
        ("mixed", "refresh p99 under logins <= 5 x idle"): False,
    }


def test_a_chain_that_lost_its_session_fails_the_chain_target() -> None:
    run = a_run()
    run.chains = {
        "chains": 4, "live": 3, "mismatched": ["s1"], "reuse_events": 1, "rehash_events": 0
    }  # fmt: skip
    [chain] = [v for v in evaluate(run) if v.target == "one live successor per chain"]
    assert chain.passed is False
    assert chain.figure == "3/4 live, 1 off, 1 reuse events"


def test_report_writes_markdown_and_json_and_compares_with_before(tmp_path: Path) -> None:
    before = tmp_path / "before"
    write(a_run(), before)
    text = write(a_run(), tmp_path / "latest", before_path=before.with_suffix(".json"))
    assert text == (tmp_path / "latest.md").read_text()
    assert "| login | 78.0 |" in text
    assert (
        "| refresh | server CPU <= 1.5 ms | 3.200 ms | bare Starlette 0.30 ms | **FAIL** |" in text
    )
    assert "## Against the run before optimisation (now)" in text
    assert "| /me | 100.0 | 100.0 | 0.50 | 0.50 | 0.500 | 0.500 |" in text
    assert "client_credentials: not available in this build" in text
    assert "- password_rehashed events: 0" in text
    data = json.loads((tmp_path / "latest.json").read_text())
    assert data["scenarios"]["me"]["server_cpu_ms_per_request"] == pytest.approx(0.5)
    assert data["scenarios"]["me"]["pg_cpu_ms_per_request"] == pytest.approx(0.5)
    assert {t["passed"] for t in data["targets"]} == {True, False, None}


def test_options_quick_env_and_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_SECONDS", "7")
    cfg = parse(["--quick", "--only", "login,jwks", "--chains", "3"])
    assert cfg.quick
    assert cfg.seconds == 7.0  # the environment beats the quick default
    assert cfg.users == QUICK["users"]
    assert cfg.chains == 3
    assert cfg.scenarios == ("login", "jwks")
    assert cfg.output.name == "quick"
    assert parse([]).scenarios == SCENARIOS
    with pytest.raises(SystemExit):
        parse(["--only", "login,nonsense"])


@pytest.mark.parametrize(
    "output",
    [
        '{"client_id": "c1", "client_secret": "s3cret"}',
        "created client\nclient_id: c1\nclient_secret: s3cret\n",
        "client_id=c1 client_secret=s3cret",
    ],
)
def test_client_credentials_hook_reads_json_or_lines(output: str) -> None:
    assert clients.parse_credentials(output) == ("c1", "s3cret")


def test_client_credentials_hook_says_when_nothing_was_created() -> None:
    assert clients.parse_credentials("usage: identity [-h] ...") is None
    assert clients.basic_auth("a b", "p:w") == {"Authorization": "Basic YStiOnAlM0F3"}
