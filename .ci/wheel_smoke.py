"""CI: the built wheels alone migrate, serve and verify, on PostgreSQL and on SQLite.

Builds both wheels of the workspace (the server, and the verifier it depends on), checks
what each holds, installs the server into a fresh virtualenv outside the checkout
(dependency versions pinned to uv.lock), then, from a directory outside the checkout,
runs `identity migrate` and `identity serve` and waits for `GET /readyz` = 200: once
against a throwaway PostgreSQL database with production settings, once against a SQLite
file with development settings. Last, the verifier wheel alone in a venv of its own
verifies a token that a live server issued (`verifier_smoke.py`).

Standard library only, so the host's python3 runs it (`.ci/run`, after `make install`,
which provides uv). Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import verifier_smoke  # .ci/verifier_smoke.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
# GET /openapi.yaml and /docs serve these from the package (no CDN, no checkout).
API_DOCS_FILES = (
    "identity/http/openapi.yaml",
    "identity/http/static/docs.html",
    "identity/http/static/docs.js",
    "identity/http/static/swagger-ui/swagger-ui-bundle.js",
    "identity/http/static/swagger-ui/swagger-ui.css",
    "identity/http/static/swagger-ui/LICENSE",
)
READY_TIMEOUT = 60.0  # seconds; a cold start here takes well under 10
STEP_TIMEOUT = 120.0


class SmokeFailure(Exception):
    """A step failed; the message says which and carries the relevant output."""


def run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    command = " ".join(map(str, argv))
    try:
        done = subprocess.run(
            [str(a) for a in argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SmokeFailure(f"`{command}` took longer than {STEP_TIMEOUT:.0f}s") from None
    if done.returncode != 0:
        raise SmokeFailure(f"`{command}` exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def uv_env() -> dict[str, str]:
    # uv must use this python3 and never download one; an activated venv must not leak in.
    env = {
        k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    }
    return {**env, "UV_PYTHON_DOWNLOADS": "never", "UV_PYTHON": sys.executable}


def find_uv() -> str:
    uv = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".tools/bin/uv")
    if not Path(uv).exists() and shutil.which(uv) is None:
        raise SmokeFailure(f"uv not found ({uv}): run `make install` first")
    return uv


def build_wheels(uv: str, out: Path) -> tuple[Path, Path]:
    """The server's wheel and the verifier's, built from this checkout."""
    run(uv, "build", "--wheel", "--all-packages", "--out-dir", out, cwd=ROOT, env=uv_env())
    (server,) = out.glob("robot_overlord_identity-*.whl")
    (verifier,) = out.glob("robot_overlord_identity_verifier-*.whl")
    return server, verifier


def check_wheel(wheel: Path) -> None:
    """The migrations and the license ship; nothing but the package and its metadata does;
    the verifier is not inside but a dependency pinned at the server's own version."""
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(f"{dist_info}/METADATA").decode()
    version = next(
        line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Version: ")
    )
    problems = [
        f"stray entry {n}" for n in sorted(names) if n.split("/")[0] not in {"identity", dist_info}
    ]
    problems += [
        f"verifier file in the server wheel: {n}"
        for n in sorted(names)
        if n.startswith("identity/verifier/")
    ]
    pin = f"Requires-Dist: robot-overlord-identity-verifier=={version}"
    if pin not in metadata.splitlines():
        problems.append(f"METADATA lacks {pin!r}")
    shipped = {
        "identity/migrations/env.py",
        "identity/migrations/script.py.mako",
        f"{dist_info}/licenses/LICENSE",
        *API_DOCS_FILES,
    } | {
        f"identity/migrations/versions/{p.name}"
        for p in (ROOT / "identity/migrations/versions").glob("*.py")
    }
    problems += [f"missing {n}" for n in sorted(shipped - names)]
    problems += [
        f"METADATA lacks {line!r}"
        for line in ("License-Expression: MIT", "License-File: LICENSE")
        if line not in metadata.splitlines()
    ]
    if problems:
        raise SmokeFailure(f"{wheel.name}:\n  " + "\n  ".join(problems))


def constraints(uv: str, work: Path) -> Path:
    """Every third-party dependency at the version uv.lock pins (no workspace member)."""
    path = work / "constraints.txt"
    export = ["export", "--frozen", "--no-dev", "--no-emit-workspace", "--no-hashes", "--quiet"]
    run(uv, *export, "--all-packages", "--output-file", path, cwd=ROOT, env=uv_env())
    return path


def install(uv: str, wheels: list[Path], work: Path, name: str = "venv") -> Path:
    """A fresh venv holding `wheels`, with every dependency at the version uv.lock pins."""
    venv = work / name
    run(uv, "venv", "--quiet", "--python", sys.executable, venv, cwd=work, env=uv_env())
    python = venv / "bin/python"
    pip: list[str | Path] = ["pip", "install", "--quiet", "--python", python]
    run(uv, *pip, "--constraint", constraints(uv, work), *wheels, cwd=work, env=uv_env())
    return venv


def service_env(**settings: str) -> dict[str, str]:
    """The host environment without any IDENTITY_* or path setting that could leak in."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    base = {k: v for k, v in os.environ.items() if not k.startswith("IDENTITY_") and k not in drop}
    return {**base, "IDENTITY_LOG_JSON": "false", **settings}


def check_import_location(venv: Path, cwd: Path) -> None:
    code = "import identity; print(identity.__file__)"
    where = Path(run(venv / "bin/python", "-c", code, cwd=cwd, env=service_env()).strip())
    if not where.is_relative_to(venv):
        raise SmokeFailure(f"identity imported from {where}, not from the wheel in {venv}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def readyz(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (http://127.0.0.1 only)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def serve_until_ready(venv: Path, cwd: Path, env: dict[str, str], label: str) -> str:
    """Start `identity serve`, poll /readyz until 200, stop the server; the body, or fail."""
    with serving(venv, cwd, env, label) as (_base_url, body):
        return body


@contextmanager
def serving(venv: Path, cwd: Path, env: dict[str, str], label: str) -> Iterator[tuple[str, str]]:
    """`identity serve` running and ready: its base URL and the /readyz body; stopped after."""
    port = free_port()
    log_path = cwd / f"serve-{label}.log"
    argv = [str(venv / "bin/identity"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/readyz"
    last = "no answer yet"
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SmokeFailure(
                    f"{label}: `identity serve` exited {proc.returncode}:\n{log_path.read_text()}"
                )
            try:
                status, body = readyz(url)
            except OSError as exc:  # not listening yet
                last = f"{type(exc).__name__}: {exc}"
            else:
                if status == 200:
                    break
                last = f"{status} {body}"
            time.sleep(0.25)
        else:
            raise SmokeFailure(
                f"{label}: /readyz not 200 within {READY_TIMEOUT:.0f}s (last: {last}):\n"
                f"{log_path.read_text()}"
            )
        yield f"http://127.0.0.1:{port}", body
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http://127.0.0.1 only)
            headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status, headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def check_api_docs(base_url: str) -> None:
    """The installed wheel serves its contract and the reference page with every asset."""
    problems = []
    status, _, body = fetch(f"{base_url}/openapi.yaml")
    if status != 200 or body != (ROOT / "identity/http/openapi.yaml").read_bytes():
        problems.append(f"/openapi.yaml: {status}, not the checkout's document")
    status, headers, page = fetch(f"{base_url}/docs")
    csp = headers.get("content-security-policy", "")
    if status != 200 or "default-src 'none'" not in csp:
        problems.append(f"/docs: {status}, Content-Security-Policy {csp!r}")
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "docs.js"):
        if f"docs/assets/{asset}".encode() not in page:
            problems.append(f"/docs does not load {asset}")
        status, _, body = fetch(f"{base_url}/docs/assets/{asset}")
        if status != 200 or not body:
            problems.append(f"/docs/assets/{asset}: {status}")
    if problems:
        raise SmokeFailure("API reference from the wheel:\n  " + "\n  ".join(problems))
    print("   sqlite: /openapi.yaml and /docs (with its assets) served from the wheel")


def migrate(venv: Path, cwd: Path, env: dict[str, str]) -> None:
    run(venv / "bin/identity", "migrate", cwd=cwd, env=env)


def serve(venv: Path, cwd: Path, env: dict[str, str], label: str) -> None:
    started = time.monotonic()
    checks = json.loads(serve_until_ready(venv, cwd, env, label))["checks"]
    print(f"   {label}: identity serve -> /readyz 200 {checks} ({time.monotonic() - started:.1f}s)")


def psql(sql: str) -> None:
    server = ["-h", PG["host"], "-p", PG["port"], "-U", PG["user"]]
    run("psql", *server, "-v", "ON_ERROR_STOP=1", "-qc", sql, "postgres", cwd=ROOT)


@contextmanager
def throwaway_database() -> Iterator[str]:
    name = f"identity_wheel_{os.getpid()}_{int(time.time())}"
    psql(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    finally:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def on_postgres(venv: Path, cwd: Path) -> None:
    with throwaway_database() as url:
        env = service_env(
            IDENTITY_ENV="production",
            IDENTITY_DATABASE_URL=url,
            IDENTITY_SECRET_KEYS=json.dumps([secrets.token_urlsafe(48)]),
            IDENTITY_ISSUER="https://identity.ci.invalid",
        )
        migrate(venv, cwd, env)  # production `serve` refuses a schema that is not at head
        serve(venv, cwd, env, "postgresql")


def on_sqlite(venv: Path, cwd: Path) -> None:
    # Production refuses SQLite: development settings, with an explicit secret.
    db = cwd / "identity.db"
    env = service_env(
        IDENTITY_ENV="development",
        IDENTITY_DATABASE_URL=f"sqlite+aiosqlite:///{db}",
        IDENTITY_SECRET_KEYS=json.dumps([secrets.token_urlsafe(48)]),
    )
    migrate(venv, cwd, env)
    # Development `serve` would migrate SQLite itself: prove `identity migrate` already did.
    try:
        with closing(sqlite3.connect(db)) as conn:
            (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except (sqlite3.Error, TypeError) as exc:  # no table, or no row in it
        raise SmokeFailure(f"sqlite: `identity migrate` left no schema revision: {exc}") from None
    print(f"   sqlite: identity migrate -> {revision}")
    serve(venv, cwd, env, "sqlite")
    with serving(venv, cwd, env, "sqlite-docs") as (base_url, _body):
        check_api_docs(base_url)


def main() -> int:
    # SIGTERM (a cancelled CI job) unwinds like Ctrl-C, so the database is still dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="identity-wheel-"))
    try:
        uv = find_uv()
        wheel, verifier_wheel = build_wheels(uv, work / "dist")
        check_wheel(wheel)
        print(f"   built {wheel.name}: migrations, LICENSE, nothing else outside identity/")
        verifier_smoke.check_wheel(verifier_wheel)
        print(f"   built {verifier_wheel.name}: identity/verifier/ only")
        venv = install(uv, [wheel, verifier_wheel], work)
        cwd = work / "run"  # outside the checkout: nothing can be found relative to it
        cwd.mkdir()
        check_import_location(venv, cwd)
        on_postgres(venv, cwd)
        on_sqlite(venv, cwd)
        alone = install(uv, [verifier_wheel], work, name="verifier-venv")
        verifier_smoke.check_alone(alone, venv, cwd, serving=serving, service_env=service_env)
    except (SmokeFailure, verifier_smoke.VerifierSmokeFailure) as exc:
        print(f"wheel smoke test FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"   wheel smoke test passed in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
