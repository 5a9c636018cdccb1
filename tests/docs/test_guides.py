"""Every code block of docs/guides/*.md runs against a live server (uvicorn on 127.0.0.1),
in the order the guide shows them.

How a guide's blocks run (each guide says so at its top):
- the environment holds `AUTH_URL` (the service, which is also the issuer), and `EMAIL` and
  `PASSWORD` of a registered account;
- `sh` blocks run with `bash -euo pipefail` and `set -a`, so every variable a block sets
  (`ACCESS_TOKEN=...`) is in the environment of the blocks after it; `identity` is the CLI
  of the same deployment (same database and secret);
- `python` blocks run as scripts with this virtualenv's interpreter;
- `js` blocks run as ES modules with node, beside a node_modules holding `jose` (skipped
  with the reason where node is missing).
A block fails the test when it exits non-zero (the guides assert what they expect).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.docs.markdown import DOCS, Block, code_blocks
from tests.docs.node_tools import node, node_project
from tests.e2e.server import clean_environ, free_port, running_server

pytestmark = pytest.mark.e2e

GUIDES = sorted((DOCS / "guides").glob("*.md"))
RUNNABLE = {"sh", "python", "js"}
PASSWORD = "correct horse battery staple"
TIMEOUT = 120
BIN = Path(sys.executable).parent


def runnable_blocks() -> list[Block]:
    blocks = [b for guide in GUIDES for b in code_blocks(guide)]
    unknown = [b.where for b in blocks if b.lang not in RUNNABLE]
    assert unknown == [], f"a guide block in a language the suite cannot run: {unknown}"
    return blocks


class Deployment:
    """The live server, its working directory, and each guide's environment so far."""

    def __init__(self, url: str, cwd: Path) -> None:
        self.url = url
        self.cwd = cwd
        self.accounts = 0
        self.state: dict[Path, dict[str, str]] = {}
        self.done: set[Block] = set()

    def new_account(self) -> str:
        self.accounts += 1
        email = f"guide-{self.accounts}@example.com"
        r = httpx.post(f"{self.url}/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        return email

    def environment(self, guide: Path) -> dict[str, str]:
        if guide not in self.state:
            self.state[guide] = {
                **clean_environ(),
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "AUTH_URL": self.url,
                "EMAIL": self.new_account(),
                "PASSWORD": PASSWORD,
            }
        return self.state[guide]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    cwd = tmp_path_factory.mktemp("guides")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = clean_environ(
        IDENTITY_ISSUER=url,
        IDENTITY_CORS_ORIGINS='["https://app.example.com"]',
        # The guides are not about throttling; dozens of logins from one address are.
        IDENTITY_RATE_LIMIT_ENABLED="false",
        IDENTITY_LOG_JSON="false",
    )
    with running_server(cwd, env, port=port) as served:
        assert served == url
        yield Deployment(url, cwd)


def run_block(deployment: Deployment, block: Block) -> None:
    env = deployment.environment(block.path)
    work = deployment.cwd
    if block.lang == "sh":
        for tool in ("curl", "jq"):
            if shutil.which(tool) is None:
                pytest.skip(f"{tool} is not installed: the guide's shell blocks use it")
        state = work / "state.json"
        script = (
            f"set -a\n{block.text}\n"
            f"python3 -c 'import json, os; print(json.dumps(dict(os.environ)))' > {state}\n"
        )
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
        check(block, done)
        env.update(json.loads(state.read_text()))
    elif block.lang == "python":
        script = work / "guide_block.py"
        script.write_text(block.text)
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
        check(block, done)
    else:
        executable, project = node(), node_project()
        script = project / "guide_block.mjs"  # beside node_modules, so imports resolve
        script.write_text(block.text)
        done = subprocess.run(
            [executable, str(script)],
            cwd=project, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
        check(block, done)


def check(block: Block, done: subprocess.CompletedProcess[Any]) -> None:
    assert done.returncode == 0, (
        f"{block.where} ({block.lang}) exited {done.returncode}:\n"
        f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )


@pytest.mark.parametrize("block", runnable_blocks(), ids=lambda b: b.where)
def test_guide_block_runs(deployment: Deployment, block: Block) -> None:
    # The blocks before it in its guide ran first (they may set what it uses).
    for earlier in code_blocks(block.path):
        if earlier == block:
            break
        if earlier not in deployment.done:
            pytest.skip(f"an earlier block of the guide did not run: {earlier.where}")
    if block.lang == "js" and shutil.which("node") is None:
        deployment.done.add(block)  # nothing later depends on a js block
        pytest.skip("node is not installed: the guide's JavaScript block needs it")
    run_block(deployment, block)
    deployment.done.add(block)


def test_every_guide_has_blocks_in_each_language_it_promises() -> None:
    langs = {g.name: {b.lang for b in code_blocks(g)} for g in GUIDES}
    assert langs == {
        "frontend.md": {"sh", "js"},
        "service-to-service.md": {"sh", "python"},
        "sibling-services.md": {"sh", "python", "js"},
    }
