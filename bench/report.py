"""`bench/results/<name>.md` and `.json`: every figure next to its baseline and its target."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.stats import Figures
from bench.targets import Run, Verdict, evaluate

MARK = {True: "PASS", False: "**FAIL**", None: "n/a"}


def _num(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}" if math.isfinite(value) else "-"


def figures_row(f: Figures) -> str:
    cells = [
        f.name,
        _num(f.rate, 1),
        _num(f.p(50)),
        _num(f.p(90)),
        _num(f.p(99)),
        f"{f.requests:,}",
        str(f.errors) if f.errors == 0 else f"**{f.errors}**",
        _num(f.per_request(f.server_cpu_ms), 3),
        _num(f.per_request(f.pg_cpu_ms), 3),
        _num(f.per_request(f.pg_cluster_cpu_ms), 3),
        _num(f.per_request(f.client_cpu_ms), 3),
    ]
    return "| " + " | ".join(cells) + " |"


RESULTS_HEAD = (
    "| scenario | req/s | p50 ms | p90 ms | p99 ms | requests | errors | server CPU ms/req "
    "| PG CPU ms/req (bench db) | PG cluster CPU ms/req | load gen CPU ms/req |\n"
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
)


def verdict_row(v: Verdict) -> str:
    return f"| {v.scenario} | {v.target} | {v.figure} | {v.baseline} | {MARK[v.passed]} |"


def _compare(run: Run, before: dict[str, Any]) -> list[str]:
    """Rate, p99 and server CPU per request against the run before optimisation."""
    lines = [
        "| scenario | req/s before | now | p99 ms before | now | server CPU ms/req before | now |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for key, f in run.scenarios.items():
        old = before.get("scenarios", {}).get(key)
        if old:
            was = {k: math.nan if old.get(k) is None else old[k]
                   for k in ("rate", "p99_ms", "server_cpu_ms_per_request")}  # fmt: skip
            lines.append(
                f"| {f.name} | {_num(was['rate'], 1)} | {_num(f.rate, 1)} | "
                f"{_num(was['p99_ms'])} | {_num(f.p(99))} | "
                f"{_num(was['server_cpu_ms_per_request'], 3)} | "
                f"{_num(f.per_request(f.server_cpu_ms), 3)} |"
            )
    return lines


def markdown(run: Run, verdicts: list[Verdict], before: dict[str, Any] | None) -> str:
    m = run.meta
    lines = [
        f"# {m['title']}",
        "",
        f"{m['started']} · commit `{m['commit']}` · {m['cpus']} CPUs · load average "
        f"{m['loadavg_start']} at start, {m['loadavg_end']} at end · PostgreSQL "
        f"{m['postgres']} · Python {m['python']}",
        "",
        f"`identity serve --workers {m['workers']}`, {m['settings']}. argon2id "
        f"{m['argon2']}, hash concurrency {m['hash_concurrency']} per worker. Load generator: "
        f"{m['load']}.",
        "",
        "## Results",
        "",
        RESULTS_HEAD,
        *(figures_row(f) for f in run.baselines.values()),
        *(figures_row(f) for f in run.scenarios.values()),
        "",
        "## Targets",
        "",
        "| scenario | target | figure | baseline (same run) | result |",
        "|---|---|---|---|---|",
        *(verdict_row(v) for v in verdicts),
    ]
    if before is not None:
        lines += [
            "",
            f"## Against the run before optimisation ({before['meta']['started']})",
            "",
            *_compare(run, before),
        ]
    lines += ["", "## Notes", "", *(f"- {n}" for n in m["notes"])]
    lines += [f"- {name}: {reason}" for name, reason in run.unavailable.items()]
    for f in [*run.baselines.values(), *run.scenarios.values()]:
        lines += [f"- {f.name}: {note}" for note in f.notes]
        lines += [f"- {f.name}: error sample: `{e}`" for e in f.error_samples]
    if run.chains:
        lines.append(
            f"- password_rehashed events: {run.chains['rehash_events']} (0: every login verified "
            "against a hash of the server's own parameters, as in production)"
        )
    errors = run.server_errors
    lines.append(f"- server log: {len(errors)} error lines" + (":" if errors else "."))
    lines += [f"  - `{e[:200]}`" for e in errors[:5]]
    return "\n".join(lines) + "\n"


def as_json(run: Run, verdicts: list[Verdict]) -> dict[str, Any]:
    return {
        "meta": run.meta,
        "baselines": {k: f.summary() for k, f in run.baselines.items()},
        "scenarios": {k: f.summary() for k, f in run.scenarios.items()},
        "unavailable": run.unavailable,
        "chains": run.chains,
        "targets": [asdict(v) for v in verdicts],
        "server_errors": run.server_errors[:50],
    }


def write(run: Run, output: Path, before_path: Path | None = None) -> str:
    """Write `output`.md and `output`.json; the markdown, for the terminal too."""
    before = None
    if (
        before_path is not None
        and before_path.exists()
        and before_path != output.with_suffix(".json")
    ):
        before = json.loads(before_path.read_text())
    verdicts = evaluate(run)
    text = markdown(run, verdicts, before)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".md").write_text(text)
    output.with_suffix(".json").write_text(json.dumps(as_json(run, verdicts), indent=2) + "\n")
    return text
