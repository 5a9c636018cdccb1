"""The verifier is a distribution of its own (verifier/pyproject.toml), built from the same
source and released at the server's version; `.ci/verifier_smoke.py` installs it alone in
a fresh venv and verifies a live server's token with it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import identity

ROOT = Path(__file__).resolve().parents[2]


def test_server_pins_the_verifier_at_its_own_version() -> None:
    server = tomllib.loads((ROOT / "pyproject.toml").read_text())
    verifier = tomllib.loads((ROOT / "verifier/pyproject.toml").read_text())
    pin = f"robot-overlord-identity-verifier=={identity.__version__}"
    assert pin in server["project"]["dependencies"]
    # Both read their version from identity/__init__.py: one number for both.
    assert server["project"]["dynamic"] == verifier["project"]["dynamic"] == ["version"]
    assert (ROOT / "verifier" / verifier["tool"]["hatch"]["version"]["path"]).resolve() == (
        ROOT / "identity/__init__.py"
    )
    assert verifier["project"]["dependencies"] == ["httpx>=0.27", "joserfc>=1.2"]
    assert "identity/verifier" in server["tool"]["hatch"]["build"]["targets"]["wheel"]["exclude"]


def test_installed_alone_identity_is_a_namespace_package(tmp_path: Path) -> None:
    """What the wheel installs: identity/verifier/ with no identity/__init__.py above it."""
    shutil.copytree(
        ROOT / "identity/verifier",
        tmp_path / "identity/verifier",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    code = f"""
import sys
sys.path[:] = [{str(tmp_path)!r}] + [p for p in sys.path if p not in ("", {str(ROOT)!r})]
import identity
from identity.verifier import Verifier
assert identity.__file__ is None, identity.__file__  # a PEP 420 namespace package
import identity.verifier
print(identity.verifier.__file__)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(tmp_path))


def _uv() -> str:
    uv = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".tools/bin/uv")
    if not Path(uv).exists() and shutil.which(uv) is None:
        pytest.skip("uv not found (make install provides .tools/bin/uv)")
    return uv


@pytest.mark.slow
def test_the_verifier_wheel_holds_the_verifier_only(tmp_path: Path) -> None:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_PYTHON": sys.executable}
    subprocess.run(
        [_uv(), "build", "--wheel", "--package", "robot-overlord-identity-verifier",
         "--out-dir", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, check=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name == f"robot_overlord_identity_verifier-{identity.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    package = sorted(n for n in names if not n.split("/")[0].endswith(".dist-info"))
    expected = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "identity/verifier").glob("*.py"))
    assert package == expected
