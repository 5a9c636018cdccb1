"""The import contracts in pyproject.toml hold, and each one fails on the violation it names.

Each violation is written into a copy of the package, never into the real one, and the
contract is checked there by the same `lint-imports` that `make lint` runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# contract id -> (a module of the package, a line that breaks exactly that contract)
VIOLATIONS = {
    "layers": ("identity/services/events.py", "import identity.http.routes"),
    "http-calls-services": ("identity/http/account.py", "import identity.db.uow"),
    "no-starlette-below-http": ("identity/services/accounts.py", "import starlette.requests"),
    "crypto-is-pure": ("identity/crypto/keys.py", "import sqlalchemy"),
    "config-read-once": ("identity/services/accounts.py", "import identity.config"),
    "verifier-stands-alone": ("identity/verifier/_token.py", "import identity.errors"),
}


def lint_imports(cwd: Path, contract: str | None = None) -> subprocess.CompletedProcess[str]:
    args = [str(LINT_IMPORTS), "--no-cache"]
    if contract is not None:
        args += ["--contract", contract]
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


def test_every_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(VIOLATIONS)} kept, 0 broken." in result.stdout


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_each_contract_fails_on_its_violation(tmp_path: Path, contract: str) -> None:
    shutil.copytree(
        ROOT / "identity", tmp_path / "identity", ignore=shutil.ignore_patterns("*.pyc")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    module, line = VIOLATIONS[contract]
    with (tmp_path / module).open("a") as f:
        f.write(f"\n{line}  # a deliberate violation\n")

    result = lint_imports(tmp_path, contract)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert "Contracts: 0 kept, 1 broken." in result.stdout
