"""Fenced code blocks of the Markdown documentation, with their language and line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    info: str  # the whole info string: "python", "sh run=false", ...
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documentation() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def code_blocks(path: Path, text: str | None = None) -> list[Block]:
    """The fenced blocks of `path` (or of `text`, a part of it)."""
    blocks: list[Block] = []
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, info = opening["fence"], opening["info"].strip()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j])
            j += 1
        lang = info.split()[0] if info else ""
        blocks.append(Block(path, i + 1, lang, info, "\n".join(body) + "\n"))
        i = j + 1
    return blocks
