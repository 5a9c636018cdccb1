"""Node for the documentation tests: the Mermaid parser and `jose`, installed with `npm ci`
from tests/docs/node/package-lock.json into a cache directory outside the checkout (once
per lock file), or a skip with the reason where node or npm is missing."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

LOCK_DIR = Path(__file__).resolve().parent / "node"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "robot-overlord-identity"


def node() -> str:
    """The node executable, or a skip."""
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is not installed: the Mermaid and Node checks need it")
    return found


def node_project() -> Path:
    """A directory whose node_modules holds the locked packages (installed on first use)."""
    node()
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the Mermaid and Node checks need it")
    lock = (LOCK_DIR / "package-lock.json").read_bytes()
    manifest = (LOCK_DIR / "package.json").read_bytes()
    digest = hashlib.sha256(manifest + lock).hexdigest()[:16]
    project = cache_root() / f"docs-node-{digest}"
    done = project / ".installed"
    if done.exists():
        return project
    project.mkdir(parents=True, exist_ok=True)
    shutil.copy(LOCK_DIR / "package.json", project / "package.json")
    shutil.copy(LOCK_DIR / "package-lock.json", project / "package-lock.json")
    installed = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=project, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if installed.returncode != 0:
        pytest.fail(f"npm ci failed in {project}:\n{installed.stdout}{installed.stderr}")
    done.write_text(digest)
    return project
