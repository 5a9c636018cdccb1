"""CPU time of processes from /proc/<pid>/stat: the benchmark's steadiest measure.

On a shared 2-core machine wall-clock rates drift with whatever else runs; the CPU a process
tree spends per request does not (much). `utime + stime` of /proc/<pid>/stat covers every
thread of the process (the hash pool's too). A child that exits is folded into its parent's
`cutime + cstime` once reaped, which `tree_cpu(..., include_reaped=True)` counts, so a whole
cluster's CPU (PostgreSQL's postmaster and its backends) adds up even as backends come and go.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    comm: str
    ppid: int
    user_ticks: int  # utime: this process, all its threads
    system_ticks: int  # stime: the kernel's work on its behalf (syscalls, TCP on loopback)
    reaped_ticks: int  # cutime + cstime: children it has waited for
    nice: int = 0  # of this thread (a /proc/<pid>/task/<tid>/stat) or the main thread

    @property
    def cpu_ticks(self) -> int:
        return self.user_ticks + self.system_ticks


def parse_stat(text: str) -> ProcStat:
    """One /proc/<pid>/stat line. `comm` may hold spaces and parentheses: split at the last ')'."""
    pid_part, _, rest = text.partition(" (")
    comm, _, fields_text = rest.rpartition(") ")
    fields = fields_text.split()
    # fields[0] is field 3 (state) of proc(5): ppid is 4, utime 14, stime 15, cutime 16,
    # cstime 17, nice 19.
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    nice = int(fields[16])
    return ProcStat(int(pid_part), comm, int(fields[1]), utime, stime, cutime + cstime, nice)


def read_stat(pid: int) -> ProcStat | None:
    """None when the process is gone (it may exit between listing and reading)."""
    try:
        return parse_stat((PROC / str(pid) / "stat").read_text())
    except (FileNotFoundError, ProcessLookupError):
        return None


def all_stats() -> list[ProcStat]:
    stats = (read_stat(int(p.name)) for p in PROC.iterdir() if p.name.isdigit())
    return [s for s in stats if s is not None]


def descendants(root: int, stats: Iterable[ProcStat]) -> list[ProcStat]:
    """`root` and every process below it, from one snapshot of the process table."""
    by_parent: dict[int, list[ProcStat]] = {}
    found: list[ProcStat] = []
    for s in stats:
        by_parent.setdefault(s.ppid, []).append(s)
        if s.pid == root:
            found.append(s)
    i = 0
    while i < len(found):
        found.extend(by_parent.get(found[i].pid, []))
        i += 1
    return found


def tree_cpu(root: int, *, include_reaped: bool = False) -> dict[int, int]:
    """Ticks per pid of the tree under `root`; with `include_reaped`, the root's entry also
    holds what its exited children spent (a whole cluster's CPU, not one process's)."""
    tree = descendants(root, all_stats())
    return {
        s.pid: s.cpu_ticks + (s.reaped_ticks if include_reaped and s.pid == root else 0)
        for s in tree
    }


def pids_cpu(pids: Iterable[int]) -> dict[int, int]:
    """Ticks per pid for the ones still alive."""
    stats = (read_stat(pid) for pid in pids)
    return {s.pid: s.cpu_ticks for s in stats if s is not None}


def threads_cpu(pids: Iterable[int], *, nice: int) -> dict[int, int]:
    """Ticks per thread id of the threads of `pids` that run at `nice`.

    The service's hash pool lowers its own threads to `identity.services.hashing.NICENESS`
    and nothing else in it does: this splits a login's server CPU into the hash's own and
    the rest (the event loop, the driver, the token work)."""
    out: dict[int, int] = {}
    for pid in pids:
        try:
            tasks = list((PROC / str(pid) / "task").iterdir())
        except (FileNotFoundError, ProcessLookupError):
            continue
        for task in tasks:
            try:
                stat = parse_stat((task / "stat").read_text())
            except (FileNotFoundError, ProcessLookupError):
                continue  # the thread ended meanwhile
            if stat.nice == nice:
                out[stat.pid] = stat.cpu_ticks
    return out


def spent_ms(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU milliseconds spent between two samples. A pid first seen in `after` started in
    between and counts from zero; one gone from `after` ended and its last interval is lost
    (callers that need it sample the parent with `include_reaped`)."""
    ticks = sum(t - before.get(pid, 0) for pid, t in after.items())
    return ticks * 1000 / TICKS_PER_SECOND
