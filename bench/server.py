"""Start and stop the servers under test: `identity serve` and the bare Starlette floor.

Each runs in its own session (process group) so that stopping it reaches the uvicorn
workers too, and only them. Its output goes to a log file the run scans for errors.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import procstat
from bench.http import HOST, Connection

STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
# Settled: the tree spends under this share of one core (workers still starting burn more).
QUIET_CPU_SHARE = 0.05


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    pid: int  # the uvicorn master: the root of the process tree whose CPU is counted
    port: int
    log: Path

    def cpu(self) -> dict[int, int]:
        return procstat.tree_cpu(self.pid)

    def error_lines(self) -> list[str]:
        """Log lines at level error or above, and tracebacks: a run with any is suspect."""
        markers = ('"level": "error"', '"level": "critical"', "Traceback", "ERROR:")
        with self.log.open(errors="replace") as f:
            return [line.rstrip() for line in f if any(m in line for m in markers)]


async def _wait_ready(proc: asyncio.subprocess.Process, port: int, path: str, log: Path) -> None:
    """Until `path` answers 200, then until the tree is quiet: every worker has finished its
    start-up (key loading, the dummy hash) before anything is measured."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if proc.returncode is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready after {STARTUP_TIMEOUT_S:.0f} s; see {log}")
        try:
            if (await Connection(port).request("GET", path)).status == 200:
                break
        except OSError:
            pass
        await asyncio.sleep(0.2)
    while time.monotonic() < deadline:
        before = procstat.tree_cpu(proc.pid)
        await asyncio.sleep(0.5)
        if procstat.spent_ms(before, procstat.tree_cpu(proc.pid)) < 500 * QUIET_CPU_SHARE:
            return
    raise RuntimeError(f"server never settled after start-up; see {log}")


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM to the master (uvicorn then stops its workers), SIGKILL to the group after."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group we created: stray workers only
    except ProcessLookupError:
        pass
    await proc.wait()


@asynccontextmanager
async def running(
    argv: Sequence[str], *, env: dict[str, str], log: Path, ready_path: str, port: int
) -> AsyncIterator[Server]:
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        await _wait_ready(proc, port, ready_path, log)
        yield Server(proc.pid, port, log)
    finally:
        # Shielded: a cancelled run (Ctrl-C, SIGTERM) must still stop what it started.
        await asyncio.shield(_stop(proc))


def identity_argv(port: int, workers: int) -> list[str]:
    return [
        "-m",
        "identity",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def bare_argv(port: int, workers: int) -> list[str]:
    return ["-m", "bench.bare_app", "--port", str(port), "--workers", str(workers)]
