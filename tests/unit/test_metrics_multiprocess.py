"""Multiprocess mode (what `identity serve` runs): each process writes its own files, a
scrape aggregates the directory, a dead process's live gauges leave the aggregate while its
counts stay, and `Metrics` made twice in one process share their series."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from identity.metrics import aggregate_registry

WORKER = """
import sys
from identity.metrics import Metrics, enable_multiprocess

enable_multiprocess(sys.argv[1])
first, second = Metrics(), Metrics()  # two apps in one process: one set of series
for _ in range(int(sys.argv[2])):
    first.observe_request("GET", "/healthz", 200, 0.001)
second.observe_request("GET", "/healthz", 200, 0.001)
first.logins.inc("succeeded")
first.sampled_gauge("identity_db_pool_in_use", "In use.", lambda: 3)
first.sample()
print("ready", flush=True)
sys.stdin.readline()  # stay alive until told
"""


def start(path: Path, requests: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(path), str(requests)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    proc.communicate("\n", timeout=30)


def sample(path: Path, name: str, **labels: str) -> float | None:
    return aggregate_registry(str(path)).get_sample_value(name, labels)


def test_a_scrape_sums_every_process_and_forgets_dead_ones_live_gauges(tmp_path: Path) -> None:
    one, two = start(tmp_path, 3), start(tmp_path, 5)
    try:
        requests = {"method": "GET", "route": "/healthz", "status_class": "2xx"}
        assert sample(tmp_path, "identity_http_requests_total", **requests) == 3 + 1 + 5 + 1
        assert sample(tmp_path, "identity_logins_total", outcome="succeeded") == 2
        assert sample(tmp_path, "identity_db_pool_in_use") == 3 + 3  # livesum
        assert sample(tmp_path, "identity_build_info", version="0.1.0", python=_python()) == 1
        stop(one)  # exits without marking itself dead, as a killed worker would
        assert sample(tmp_path, "identity_db_pool_in_use") == 3
        assert sample(tmp_path, "identity_http_requests_total", **requests) == 10
    finally:
        for proc in (one, two):
            if proc.poll() is None:
                stop(proc)
    assert sample(tmp_path, "identity_db_pool_in_use") is None
    assert sample(tmp_path, "identity_http_requests_total", **requests) == 10


def _python() -> str:
    import platform

    return platform.python_version()
