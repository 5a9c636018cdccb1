"""Start the real service (`identity serve`, uvicorn) on 127.0.0.1 and a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_environ(**env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("IDENTITY_")}
    return {**base, **env}


@contextmanager
def running_server(
    cwd: Path,
    env: dict[str, str] | None = None,
    *,
    workers: int = 1,
    timeout: float = 60,
    port: int | None = None,
) -> Iterator[str]:
    """Yield the base URL of a served instance; stop it afterwards (and show its log on error).

    `port` when the caller needs the URL beforehand (to set IDENTITY_ISSUER), else a free one.
    """
    port = port or free_port()
    log_path = cwd / f"server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "identity",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            cwd=cwd,
            env=env if env is not None else clean_environ(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited {proc.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"server did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
