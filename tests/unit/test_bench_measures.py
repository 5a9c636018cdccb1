"""The benchmark's measuring parts (bench/): percentiles, /proc CPU accounting, HTTP parsing.

The benchmark itself runs under `make bench`; these only check that what it computes is
right, without timing anything.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time

import pytest

from bench import procstat
from bench.http import ProtocolError, build_request, parse_response
from bench.stats import Figures, percentile

# Burns CPU until it has used `ms` of it (however long that takes), says so, then waits.
BURN = """
import sys, time
while time.process_time() < {ms} / 1000:
    pass
print("burnt", flush=True)
sys.stdin.read()
"""


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(list(map(float, range(1, 101))), 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile(values, 101)


def test_figures_per_request_and_merge() -> None:
    a = Figures("x", 90, 10, 2.0, [1.0] * 90, server_cpu_ms=100.0)
    b = Figures("x", 100, 0, 3.0, [3.0] * 100, server_cpu_ms=150.0)
    both = a.merge(b)
    assert both.requests == 190
    assert both.rate == 190 / 5.0
    assert both.per_request(both.server_cpu_ms) == 250.0 / 200  # errors cost CPU too
    summary = both.summary()
    assert summary["p50_ms"] == 3.0
    assert summary["pg_cpu_ms"] is None  # not measured: null, never NaN, in the JSON


def test_parse_stat_survives_a_command_name_with_spaces_and_parens() -> None:
    fields = ["S", "41"] + ["0"] * 9 + ["7", "3", "20", "5", "20", "10"] + ["0"] * 30
    stat = procstat.parse_stat(f"123 (evil) (name) {' '.join(fields)}")
    assert stat == procstat.ProcStat(123, "evil) (name", 41, 7, 3, 25, nice=10)
    assert stat.cpu_ticks == 10


def test_descendants_walks_the_whole_tree() -> None:
    def s(pid: int, ppid: int) -> procstat.ProcStat:
        return procstat.ProcStat(pid, "p", ppid, 1, 0, 0)

    table = [s(1, 0), s(10, 1), s(11, 10), s(12, 10), s(13, 12), s(20, 1)]
    assert sorted(p.pid for p in procstat.descendants(10, table)) == [10, 11, 12, 13]
    assert procstat.descendants(99, table) == []


def test_threads_cpu_counts_only_the_threads_at_the_hash_pools_niceness() -> None:
    """The login's split (hash threads / the rest) rests on this: a thread that lowered its
    own priority, as the hash pool's do, is counted with what it burnt; this one is not."""
    nice = os.getpriority(os.PRIO_PROCESS, 0) + 7
    ready, done = threading.Event(), threading.Event()
    tids: list[int] = []

    def burn() -> None:
        tids.append(threading.get_native_id())
        os.setpriority(os.PRIO_PROCESS, tids[0], nice)
        start = time.thread_time()
        while time.thread_time() - start < 0.2:
            pass
        ready.set()
        done.wait()

    worker = threading.Thread(target=burn)
    worker.start()
    try:
        assert ready.wait(30)
        found = procstat.threads_cpu([os.getpid()], nice=nice)
        assert list(found) == tids  # that thread only, never the main one
        assert found[tids[0]] * 1000 / procstat.TICKS_PER_SECOND >= 150
    finally:
        done.set()
        worker.join()


def test_spent_counts_new_processes_from_zero() -> None:
    before = {1: 100, 2: 50}
    after = {1: 110, 2: 50, 3: 5}
    assert procstat.spent_ms(before, after) == 15 * 1000 / procstat.TICKS_PER_SECOND


def test_tree_cpu_counts_a_child_and_then_what_its_parent_reaped() -> None:
    me = os.getpid()
    before = procstat.tree_cpu(me, include_reaped=True)
    child = subprocess.Popen(
        [sys.executable, "-c", BURN.format(ms=200)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "burnt"
        live = procstat.tree_cpu(me)
        assert child.pid in live
        assert live[child.pid] * 1000 / procstat.TICKS_PER_SECOND >= 150
    finally:
        child.communicate("")
    after = procstat.tree_cpu(me, include_reaped=True)
    assert child.pid not in after
    assert procstat.spent_ms(before, after) >= 150  # now in this process's cutime


def test_build_request_closes_by_default_and_sizes_the_body() -> None:
    raw = build_request("POST", "/token", 8000, headers={"X-A": "1"}, body=b"a=b")
    assert raw == (
        b"POST /token HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nConnection: close\r\n"
        b"X-A: 1\r\nContent-Length: 3\r\n\r\na=b"
    )
    assert b"keep-alive" in build_request("GET", "/me", 1, keep_alive=True)


def test_parse_response_waits_for_the_whole_body() -> None:
    raw = b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nETag: "x"\r\n\r\n{"a": "b"}\n'
    assert parse_response(raw[:20], eof=False) is None
    assert parse_response(raw[:-3], eof=False) is None
    parsed = parse_response(raw + b"HTTP/1.1 204", eof=False)
    assert parsed is not None
    response, used = parsed
    assert (response.status, response.headers["etag"], response.json()) == (200, '"x"', {"a": "b"})
    assert used == len(raw)


def test_parse_response_bodiless_and_read_to_close() -> None:
    parsed = parse_response(b"HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n", eof=False)
    assert parsed is not None
    assert parsed[0].body == b""
    assert parse_response(b"HTTP/1.1 200 OK\r\n\r\nhello", eof=False) is None
    parsed = parse_response(b"HTTP/1.1 200 OK\r\n\r\nhello", eof=True)
    assert parsed is not None
    assert parsed[0].body == b"hello"


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",  # cut inside the body
        b"HTTP/1.1 200 OK\r\nContent-",  # cut inside the head
        b"SSH-2.0-OpenSSH\r\n\r\n",  # not HTTP
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
)
def test_parse_response_refuses_what_it_cannot_read(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_response(raw, eof=True)
