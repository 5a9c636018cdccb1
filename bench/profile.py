"""`python -m bench.profile SCENARIO [options]`: where the server's CPU goes, by py-spy.

Sets everything up as the benchmark does, drives one closed-loop scenario, and samples the
uvicorn workers with `py-spy record --subprocesses --gil` during the window: only threads
holding the GIL, i.e. running Python (argon2 runs without it, so a login's hash does not
show; its cost is the bare argon2id baseline's). Writes the folded
stacks (`bench/results/profiles/<scenario>.folded`; speedscope.app opens them) and prints
which functions and packages hold the most samples. Sampling slows the server: read the
shares, not the rates.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import uvloop

from bench import procstat, scenarios
from bench.config import RESULTS, Config, parse
from bench.database import PgCpu, connect_admin, dsn_for, throwaway_database
from bench.fixtures import open_chains
from bench.load import closed_loop
from bench.meters import Meters
from bench.server import free_port, identity_argv, running
from bench.setup import prepare

PROFILES = RESULTS / "profiles"
# py-spy frames read "function (path/to/file.py:line)"; the package is the path's first part.
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]+)(?::\d+)?\)$")


def frame_key(frame: str) -> tuple[str, str]:
    """(function with its file, package) of one folded frame; line numbers dropped."""
    match = _FRAME.match(frame)
    if match is None:
        return frame, frame.split(" ")[0]
    path = match["file"]
    package = path.split("/")[0].removesuffix(".py") if "/" in path else path.removesuffix(".py")
    return f"{match['func']} ({path})", package


def summarize(folded: str, top: int = 25) -> str:
    """Inclusive and self shares by function, and self shares by package."""
    total, inclusive, own, packages = 0, Counter[str](), Counter[str](), Counter[str]()
    for line in folded.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # The first frames name the process and thread, not code.
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        keys = [frame_key(f) for f in frames]
        for name in {k[0] for k in keys}:
            inclusive[name] += count
        own[keys[-1][0]] += count
        packages[keys[-1][1]] += count
    if total == 0:
        return "no samples\n"

    def table(title: str, counts: Counter[str]) -> list[str]:
        rows = [f"| {100 * n / total:5.1f} % | `{name}` |" for name, n in counts.most_common(top)]
        return [f"### {title}", "", "| share | |", "|--:|---|", *rows, ""]

    return "\n".join(
        [
            f"{total} samples",
            "",
            *table("self, by package", packages),
            *table("inclusive, by function", inclusive),
            *table("self, by function", own),
        ]
    )


async def profile(cfg: Config, name: str, rate: int, native: bool) -> str:
    admin = await connect_admin(cfg.admin_dsn)
    try:
        async with throwaway_database(admin, cfg.admin_dsn) as database:
            service = await prepare(cfg, database)
            pg = PgCpu(admin, database)
            await pg.start()
            port = free_port()
            with tempfile.TemporaryDirectory(prefix="identity-profile-") as tmp:
                async with running(identity_argv(port, cfg.workers), env=service.env,
                                   log=Path(tmp) / "identity.log", ready_path="/readyz",
                                   port=port) as server:  # fmt: skip
                    chains = await open_chains(port, service.emails[: cfg.chains])
                    ctx = scenarios.Context(cfg, port, Meters(server.pid, pg), service.emails,
                                            chains, service.login_clients,
                                            dsn_for(cfg.admin_dsn, database))  # fmt: skip
                    return await _sample(ctx, server.pid, name, rate, native)
    finally:
        await admin.close()


async def _sample(ctx: scenarios.Context, pid: int, name: str, rate: int, native: bool) -> str:
    cfg = ctx.cfg
    title, step, clients = await scenarios.plan(ctx, name)
    load = asyncio.create_task(closed_loop(step, ctx.shape(clients), cfg.warmup + cfg.seconds + 2))
    await asyncio.sleep(cfg.warmup)
    PROFILES.mkdir(parents=True, exist_ok=True)
    folded = PROFILES / f"{name}.folded"
    before = _user_system(pid)
    spy = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
        "--subprocesses", "--rate", str(rate), "--duration", str(round(cfg.seconds)),
        "--format", "raw", "--gil", *(["--native"] if native else ["--nonblocking"]),
        "--output", str(folded),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, err = await spy.communicate()
    after = _user_system(pid)
    tally = await load
    if spy.returncode != 0:
        raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-500:]}")
    ms = 1000 / procstat.TICKS_PER_SECOND
    per_process = ", ".join(
        f"{p}: {(u - before.get(p, (0, 0))[0]) * ms:.0f} ms user + "
        f"{(s - before.get(p, (0, 0))[1]) * ms:.0f} ms system"
        for p, (u, s) in sorted(after.items())
    )
    return (
        f"## {title}: {len(tally.latencies_ms)} requests, {tally.errors} errors in "
        f"{tally.seconds:.1f} s with {clients} clients; server CPU by process: {per_process} "
        f"(master {pid})\n\n{summarize(folded.read_text())}"
    )


def _user_system(root: int) -> dict[int, tuple[int, int]]:
    """User and system ticks per process of the tree: loopback TCP is system time."""
    return {
        s.pid: (s.user_ticks, s.system_ticks)
        for s in procstat.descendants(root, procstat.all_stats())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", choices=scenarios.CLOSED_LOOP)
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument(
        "--native", action="store_true", help="C frames too (pauses the workers to sample)"
    )
    args, rest = parser.parse_known_args()
    cfg = parse(rest)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        print(runner.run(profile(cfg, args.scenario, args.rate, args.native)))


if __name__ == "__main__":
    main()
