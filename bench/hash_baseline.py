"""Bare argon2id verification: `python -m bench.hash_baseline --threads N ...` prints JSON.

The login target is relative to this: the same parameters, the same number of concurrent
hashes as the service's pools (workers x IDENTITY_HASH_CONCURRENCY), argon2-cffi called
directly. It runs in its own process so that its CPU is its own and nothing else's.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

import argon2

PASSWORD = b"correct horse battery staple 0"


def run(
    threads: int, seconds: float, memory_kib: int, time_cost: int, parallelism: int
) -> dict[str, Any]:
    hasher = argon2.PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=parallelism,
        hash_len=32,
        salt_len=16,
        type=argon2.Type.ID,
    )
    stored = hasher.hash(PASSWORD)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    start = time.perf_counter()
    deadline = start + seconds
    cpu_start = time.process_time()  # every thread of this process

    def loop(i: int) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            hasher.verify(stored, PASSWORD)
            latencies[i].append((time.perf_counter() - t0) * 1000)

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return {
        "seconds": time.perf_counter() - start,
        "cpu_ms": (time.process_time() - cpu_start) * 1000,
        "latencies_ms": [x for per_thread in latencies for x in per_thread],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--memory-kib", type=int, required=True)
    parser.add_argument("--time-cost", type=int, required=True)
    parser.add_argument("--parallelism", type=int, required=True)
    a = parser.parse_args()
    result = run(a.threads, a.seconds, a.memory_kib, a.time_cost, a.parallelism)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
