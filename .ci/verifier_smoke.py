"""CI (called by wheel_smoke.py): the verifier wheel alone, as a sibling service installs it.

- the wheel holds `identity/verifier/` and its metadata, nothing else (no
  `identity/__init__.py`: installed alone, `identity` is a namespace package);
- installed alone in a fresh venv, the distributions present are the verifier and the
  dependency closure of httpx and joserfc only, and none of the server's;
- that venv's Python verifies an access token that a live `identity serve` (the server
  wheel's venv) issued over HTTP: register, log in, then `Verifier.verify` against the
  server's JWKS.

Standard library only, like wheel_smoke.py; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

SERVER_ONLY = {"sqlalchemy", "asyncpg", "aiosqlite", "alembic", "argon2-cffi", "zxcvbn"}
SERVER_ONLY |= {"uvicorn", "starlette", "pydantic", "limits", "redis", "bcrypt"}
ISSUER = "https://identity.ci.invalid"
AUDIENCE = "robot-overlord"

# Run by the verifier venv's Python: its distributions, and the closure of what the verifier
# requires (markers ignored, so the closure may only be larger than what is installed).
CLOSURE = r"""
import json, re
from importlib import metadata

def norm(name): return re.sub(r"[-_.]+", "-", name).lower()

installed = {norm(d.metadata["Name"]) for d in metadata.distributions()}
closure, queue = set(), ["robot-overlord-identity-verifier"]
while queue:
    name = queue.pop()
    if name in closure or name not in installed:
        continue
    closure.add(name)
    for req in metadata.requires(name) or []:
        if "extra ==" not in req:
            queue.append(norm(re.match(r"[A-Za-z0-9._-]+", req).group(0)))
own = metadata.requires("robot-overlord-identity-verifier")
direct = sorted(norm(re.match(r"[A-Za-z0-9._-]+", r).group(0)) for r in own if "extra" not in r)
import identity, identity.verifier
print(json.dumps({"installed": sorted(installed), "closure": sorted(closure), "direct": direct,
                  "namespace": identity.__file__ is None, "at": identity.verifier.__file__}))
"""

VERIFY = r"""
import asyncio, json, sys
from identity.verifier import Verifier

issuer, audience, jwks_url, token = sys.argv[1:5]
verified = asyncio.run(Verifier(issuer, audience, jwks_url).verify(token))
print(json.dumps({"sub": verified.sub, "sid": verified.sid}))
"""


class VerifierSmokeFailure(Exception):
    pass


def check_wheel(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(f"{dist_info}/METADATA").decode().splitlines()
    stray = sorted(n for n in names if not n.startswith(("identity/verifier/", f"{dist_info}/")))
    requires = sorted(line for line in metadata if line.startswith("Requires-Dist: "))
    expected = [
        "Requires-Dist: httpx>=0.27",
        "Requires-Dist: joserfc>=1.2",
        "Requires-Dist: starlette<2,>=1.0; extra == 'starlette'",
    ]
    problems = [f"stray entry {n}" for n in stray]
    if "identity/verifier/__init__.py" not in names:
        problems.append("identity/verifier/__init__.py is missing")
    if requires != expected:
        problems.append(f"requirements {requires}, expected {expected}")
    if problems:
        raise VerifierSmokeFailure(f"{wheel.name}:\n  " + "\n  ".join(problems))


def _python(venv: Path, code: str, *args: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(venv / "bin/python"), "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise VerifierSmokeFailure(f"the verifier venv's python failed:\n{done.stderr}")
    return done.stdout


def _post(url: str, body: bytes, content_type: str) -> dict[str, str]:
    headers = {"Content-Type": content_type}
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 (127.0.0.1)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        answer: dict[str, str] = json.loads(response.read())
        return answer


def check_alone(
    alone: Path,
    server_venv: Path,
    cwd: Path,
    *,
    serving: Callable[[Path, Path, dict[str, str], str], AbstractContextManager[tuple[str, str]]],
    service_env: Callable[..., dict[str, str]],
) -> None:
    env = service_env()
    found = json.loads(_python(alone, CLOSURE, cwd=cwd, env=env))
    extra = sorted(set(found["installed"]) - set(found["closure"]))
    problems = (
        [f"installed beyond httpx + joserfc and their dependencies: {extra}"] if extra else []
    )
    if found["direct"] != ["httpx", "joserfc"]:
        problems.append(f"direct requirements {found['direct']}, expected httpx and joserfc")
    if SERVER_ONLY & set(found["installed"]):
        problems.append(
            f"server dependencies installed: {sorted(SERVER_ONLY & set(found['installed']))}"
        )
    if not found["namespace"] or not Path(found["at"]).is_relative_to(alone):
        problems.append(f"identity is not a namespace package from {alone}: {found}")
    if problems:
        raise VerifierSmokeFailure("verifier alone:\n  " + "\n  ".join(problems))
    names = ", ".join(found["installed"])
    print(f"   verifier alone: {len(found['installed'])} distributions: {names}")

    server_env = service_env(
        IDENTITY_ENV="development",
        IDENTITY_DATABASE_URL=f"sqlite+aiosqlite:///{cwd / 'verifier.db'}",
        IDENTITY_SECRET_KEYS=json.dumps([secrets.token_urlsafe(48)]),
        IDENTITY_ISSUER=ISSUER,
        IDENTITY_AUDIENCE=AUDIENCE,
    )
    password = secrets.token_urlsafe(24)
    with serving(server_venv, cwd, server_env, "verifier") as (base_url, _ready):
        user = _post(
            f"{base_url}/register",
            json.dumps({"email": "sibling@example.com", "password": password}).encode(),
            "application/json",
        )
        form = {"grant_type": "password", "username": "sibling@example.com", "password": password}
        tokens = _post(
            f"{base_url}/token",
            urllib.parse.urlencode(form).encode(),
            "application/x-www-form-urlencoded",
        )
        jwks_url = f"{base_url}/.well-known/jwks.json"
        args = (ISSUER, AUDIENCE, jwks_url, tokens["access_token"])
        verified = json.loads(_python(alone, VERIFY, *args, cwd=cwd, env=env))
    if verified["sub"] != user["id"]:
        raise VerifierSmokeFailure(f"verified sub {verified['sub']}, registered {user['id']}")
    print(f"   verifier alone: verified a token from the live server (sub {verified['sub']})")
