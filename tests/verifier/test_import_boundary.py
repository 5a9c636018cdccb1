"""`identity.verifier` stands alone: a fresh interpreter imports it without the server."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER_MODULES = (
    "sqlalchemy",
    "identity.db",
    "identity.config",
    "identity.http",
    "identity.services",
    "identity.crypto",
    "identity.app",
    "pydantic",
    "pydantic_settings",
)


def run(code: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def offenders(loaded: list[str]) -> list[str]:
    return [m for m in loaded if any(m == s or m.startswith(s + ".") for s in SERVER_MODULES)]


def test_importing_the_verifier_loads_no_server_module() -> None:
    loaded = run(
        """
        import json, sys
        import identity.verifier
        print(json.dumps(sorted(sys.modules)))
        """
    )
    assert "identity.verifier" in loaded
    assert "joserfc" in loaded
    assert offenders(loaded) == []
    assert "starlette" not in loaded  # only the optional integration imports it


def test_the_verifier_works_where_the_server_cannot_be_imported() -> None:
    # A process where SQLAlchemy and the server packages do not exist at all.
    loaded = run(
        f"""
        import importlib.abc, json, sys

        class Absent(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if any(name == s or name.startswith(s + ".") for s in {SERVER_MODULES!r}):
                    raise ImportError(f"{{name}} is not installed here")
                return None

        sys.meta_path.insert(0, Absent())
        import identity.verifier
        import identity.verifier.starlette
        from identity.verifier import Verifier
        Verifier("https://id.example", "svc", "https://id.example/jwks")
        print(json.dumps(sorted(sys.modules)))
        """
    )
    assert "identity.verifier.starlette" in loaded
    assert offenders(loaded) == []
