"""Every Mermaid block of the documentation parses with Mermaid's own parser (node), and
docs/flows.md has a sequence diagram for each flow it promises."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.docs.markdown import DOCS, code_blocks, documentation
from tests.docs.node_tools import node, node_project

PARSER = Path(__file__).resolve().parent / "parse_mermaid.mjs"
FLOWS = [
    "Register and login",
    "Refresh: rotation, grace replay and reuse detection",
    "Logout and password change",
    "Lockout, known devices and unlock",
    "Signing-key life cycle",
    "A sibling service verifies a token",
    "client_credentials: a service's own token",
    "Revocation and introspection",
]


def test_every_flow_has_a_sequence_diagram_and_requests() -> None:
    text = (DOCS / "flows.md").read_text(encoding="utf-8")
    sections = {part.splitlines()[0].strip(): part for part in text.split("\n## ")[1:]}
    assert list(sections) == FLOWS
    for title, body in sections.items():
        blocks = code_blocks_of(body)
        assert "mermaid" in blocks, f"{title}: no diagram"
        assert blocks["mermaid"].lstrip().startswith("sequenceDiagram"), title
        assert "sh" in blocks, f"{title}: no requests next to the diagram"


def code_blocks_of(markdown: str) -> dict[str, str]:
    return {b.lang: b.text for b in code_blocks(DOCS / "flows.md", markdown)}


def parse(diagrams: list[str]) -> list[dict[str, str]]:
    project = node_project()
    script = project / PARSER.name  # beside node_modules, so `import "mermaid"` resolves
    shutil.copy(PARSER, script)
    done = subprocess.run(
        [node(), str(script)],
        input=json.dumps(diagrams),
        cwd=project, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results: list[dict[str, str]] = json.loads(done.stdout)
    return results


def test_every_mermaid_block_parses() -> None:
    blocks = [b for path in documentation() for b in code_blocks(path) if b.lang == "mermaid"]
    assert len(blocks) >= len(FLOWS)
    # The parser does refuse a broken diagram (a ';' ends a statement in Mermaid).
    (broken,) = parse(["sequenceDiagram\n    A->>B: one; two\n    loop\n"])
    assert broken["ok"] is False
    results = parse([b.text for b in blocks])
    failures = [
        f"{block.where}: {result['error']}"
        for block, result in zip(blocks, results, strict=True)
        if not result["ok"]
    ]
    assert failures == []
    assert {r["type"] for r in results} == {"sequence"}
