"""Dockerfile, .dockerignore and docker-compose.yml: structure, start order, no secrets.

tests/e2e/test_compose.py runs the compose services' commands on the host.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from identity.config import Settings
from tests.conftest import TEST_SECRET
from tests.docker_files import (
    ROOT,
    MissingVariable,
    Stage,
    dockerfile_stages,
    dockerignore_patterns,
    in_build_context,
    interpolate,
    load_compose,
    raw_environment,
    service_environment,
)

SERVE = ["identity", "serve", "--host", "0.0.0.0", "--port", "8000"]
VARIABLES = {
    "IDENTITY_SECRET_KEYS": json.dumps([TEST_SECRET]),
    "IDENTITY_ISSUER": "https://identity.example.com",
    "POSTGRES_PASSWORD": "0123abcd",
}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|PRIVATE|_KEYS?$")
REQUIRED_REFERENCE = re.compile(r"\$\{[A-Z_]+:\?[^}]+\}")


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return dockerfile_stages()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


# --- Dockerfile -------------------------------------------------------------------------


def test_multi_stage_on_slim_python_311(stages: list[Stage]) -> None:
    assert len(stages) >= 3  # uv, build, runtime
    runtime = stages[-1]
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", runtime.base), runtime.base
    assert any(s.base == runtime.base and s.name == "build" for s in stages)


def test_dependencies_come_from_the_frozen_lock_without_dev_tools(stages: list[Stage]) -> None:
    build = next(s for s in stages if s.name == "build")
    runs = [i.args for i in build.all("RUN")]
    (sync,) = [r for r in runs if "uv sync" in r]
    assert "--frozen" in sync
    assert "--no-dev" in sync
    assert "--no-install-project" in sync, "the dependencies layer; the project comes as a wheel"
    assert "uv.lock" in sync
    # The only other install is the project's own wheel, without resolving its dependencies:
    # every dependency is the one the lock pinned.
    installs = [r for r in runs if re.search(r"\bpip install\b", r)]
    assert len(installs) == 1
    assert re.search(r"\buv pip install\b.*--no-deps\s+\S+\.whl\b", installs[0]), installs[0]
    assert not any(re.search(r"uv lock|uv add", r) for r in runs)
    uv_image = stages[0].base
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+", uv_image), "pin an exact uv"


def test_runtime_stage_runs_as_a_numeric_non_root_user_without_uv(stages: list[Stage]) -> None:
    runtime = stages[-1]
    users = runtime.all("USER")
    assert users, "the runtime stage must drop root"
    uid = users[-1].args.split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0
    copies = [i.args for i in runtime.all("COPY")]
    assert copies == ["--from=build /app/.venv /app/.venv"], copies  # no uv, no source tree


def test_the_image_installs_the_built_wheel_not_the_source_tree(stages: list[Stage]) -> None:
    """The wheel carries the migrations (identity/migrations); nothing else is needed."""
    build = next(s for s in stages if s.name == "build")
    copied = " ".join(i.args for i in build.all("COPY"))
    for needed in ("identity", "pyproject.toml", "README.md", "LICENSE"):  # the wheel's inputs
        assert re.search(rf"(^|\s){re.escape(needed)}(\s|$)", copied), needed
        assert (ROOT / needed).exists(), needed
    assert "alembic" not in copied, "the migrations ship inside the package"
    runs = " && ".join(i.args for i in build.all("RUN"))
    built = re.search(r"\buv build --wheel --out-dir (\S+)", runs)
    assert built, "build the wheel"
    assert f"--no-deps {built[1]}/*.whl" in runs, "install the wheel just built"
    assert not re.search(r"(\s-e\s|--editable|uv sync(?![^&]*--no-install-project))", runs)
    # The runtime stage takes /app/.venv alone, so the source must live outside /app: an
    # editable install, or code finding files next to its checkout, would break there.
    assert not build.all("WORKDIR")[-1].args.startswith("/app")


def test_healthcheck_probes_healthz_with_the_standard_library(stages: list[Stage]) -> None:
    (check,) = stages[-1].all("HEALTHCHECK")
    argv = check.exec_form()
    assert argv[:2] == ["python", "-c"]
    assert "urllib.request" in argv[2]
    assert "http://127.0.0.1:8000/healthz" in argv[2]
    assert "--timeout=" in check.args


def test_cmd_serves_on_all_interfaces_port_8000(stages: list[Stage]) -> None:
    runtime = stages[-1]
    assert runtime.all("CMD")[-1].exec_form() == SERVE
    assert [i.args for i in runtime.all("EXPOSE")] == ["8000"]
    assert not runtime.all("ENTRYPOINT")


def test_no_secret_is_baked_into_the_image(stages: list[Stage]) -> None:
    for stage in stages:
        for instruction in stage.instructions:
            if instruction.keyword in {"ENV", "ARG", "LABEL"}:
                assert not SECRET_NAME.search(instruction.args.upper()), instruction
            if instruction.keyword in {"COPY", "ADD"}:
                assert ".env" not in instruction.args.split()
                assert instruction.args.split()[0] != "."  # whole-context copies pick up strays


def test_dockerignore_admits_only_what_the_image_needs() -> None:
    patterns = dockerignore_patterns()
    for needed in (
        "pyproject.toml",
        "uv.lock",
        "README.md",
        "LICENSE",
        "identity/migrations/env.py",
        "identity/migrations/script.py.mako",
    ):
        assert in_build_context(needed, patterns), needed
        assert (ROOT / needed).exists(), needed
    versions = list((ROOT / "identity/migrations/versions").glob("*.py"))
    assert versions
    assert all(in_build_context(str(v.relative_to(ROOT)), patterns) for v in versions)
    assert in_build_context("identity/app.py", patterns)
    for private in (
        ".env",
        "identity/.env",
        ".identity-dev-secret",
        "identity.db",
        ".git/config",
        ".venv/bin/python",
        "tests/conftest.py",
        "alembic.ini",
        "identity/__pycache__/app.cpython-311.pyc",
    ):
        assert not in_build_context(private, patterns), private


# --- docker-compose.yml -----------------------------------------------------------------


def test_services_and_start_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "identity"}
    assert services["migrate"]["command"] == ["identity", "migrate"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    assert services["identity"]["command"] == SERVE
    assert services["identity"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


def test_compose_serves_what_the_image_runs(compose: dict[str, Any], stages: list[Stage]) -> None:
    identity, migrate = compose["services"]["identity"], compose["services"]["migrate"]
    assert identity["command"] == stages[-1].all("CMD")[-1].exec_form()
    assert identity["build"] == migrate["build"] == "."
    assert identity["image"] == migrate["image"]
    assert raw_environment(identity) == raw_environment(migrate)


def test_postgres_healthcheck_and_named_volume(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    volume, _, mount = postgres["volumes"][0].partition(":")
    assert mount == "/var/lib/postgresql/data"
    assert volume in compose["volumes"]
    assert "ports" not in postgres


def test_identity_listens_on_loopback_only(compose: dict[str, Any]) -> None:
    assert compose["services"]["identity"]["ports"] == ["127.0.0.1:8000:8000"]


def test_every_secret_is_a_required_variable(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in raw_environment(service).items():
            if SECRET_NAME.search(key):
                assert REQUIRED_REFERENCE.fullmatch(value), f"{name}.{key}={value}"
    env = raw_environment(compose["services"]["identity"])
    assert env["IDENTITY_ENV"] == "production"
    assert env["IDENTITY_SECRET_KEYS"].startswith("${IDENTITY_SECRET_KEYS:?")
    password = re.match(
        r"postgresql\+asyncpg://\w+:(.*)@postgres:5432/\w+$", env["IDENTITY_DATABASE_URL"]
    )
    assert password is not None
    assert REQUIRED_REFERENCE.fullmatch(password[1])


@pytest.mark.parametrize("missing", sorted(VARIABLES))
def test_compose_refuses_to_start_without_each_required_variable(
    compose: dict[str, Any], missing: str
) -> None:
    partial = {k: v for k, v in VARIABLES.items() if k != missing}
    with pytest.raises(MissingVariable, match=missing):
        for service in compose["services"]:
            service_environment(compose, service, partial)
    with pytest.raises(MissingVariable, match=missing):  # set but empty counts as missing
        for service in compose["services"]:
            service_environment(compose, service, {**partial, missing: ""})


def test_the_environment_passes_the_production_checks(
    compose: dict[str, Any], clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = service_environment(compose, "identity", VARIABLES)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)
    assert settings.env == "production"
    assert settings.issuer == "https://identity.example.com"
    assert settings.secrets() == [TEST_SECRET.encode()]
    assert settings.database_url == (
        "postgresql+asyncpg://identity:0123abcd@postgres:5432/identity"
    )
    postgres = service_environment(compose, "postgres", VARIABLES)
    assert postgres["POSTGRES_PASSWORD"] == "0123abcd"


def test_interpolation_follows_compose_rules() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert interpolate("${A}-$A-$$A-${B:-two}-${EMPTY:-d}-${EMPTY-d}", env) == "1-1-$A-two-d-"
    assert interpolate("${A:+set}${B:+set}", env) == "set"
    with pytest.raises(MissingVariable, match="B is missing a value: say why"):
        interpolate("x${B:?say why}", env)
    assert interpolate("${EMPTY?needed}", env) == ""
