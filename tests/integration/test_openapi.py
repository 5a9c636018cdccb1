"""openapi.yaml is the HTTP contract: it lists exactly the routes of the route table, it is
valid OpenAPI 3.1, and the running app keeps to it.

The last part is a schemathesis property-based run against the in-process app (real
database, real crypto) over the `make_client` transport: every operation, with valid and
invalid input, anonymously and with a real Bearer token. Every response must be no 5xx,
have a documented status, content type, headers and body, and every 4xx must be the JSON
error envelope. A scripted pass then checks the answers that random input rarely reaches
(201, a token pair, 204, 304, 409, 429) against the same document.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route

import identity
from identity.http.routes import routes
from identity.services import user_admin
from identity.services.origin import Origin
from tests.factories import (
    OTHER_PASSWORD,
    PASSWORD,
    bearer,
    login,
    password_grant,
    register,
    register_client,
)
from tests.integration.admin_support import claims_of
from tests.integration.conftest import BASE_URL, AppClient

SPEC_PATH = Path(__file__).resolve().parents[2] / "identity/http/openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
SCHEMA = schemathesis.openapi.from_path(SPEC_PATH)


def load_operations() -> dict[str, APIOperation[Any, Any, Any, Any]]:
    operations = {}
    for result in SCHEMA.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an operation schemathesis cannot use is a broken document
        operations[result.ok().label] = result.ok()
    return operations


OPERATIONS = load_operations()
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def secured(label: str) -> bool:
    """Bearer-protected (a user's routes); the OAuth endpoints' client auth is not this."""
    requirements = OPERATIONS[label].definition.raw.get("security", [])
    return any("bearerAuth" in requirement for requirement in requirements)


def client_authenticated(label: str) -> bool:
    requirements = OPERATIONS[label].definition.raw.get("security", [])
    return any("clientBasic" in requirement for requirement in requirements)


# -- the route table and the document list the same operations --------------------------


def route_table_operations() -> set[tuple[str, str]]:
    found = set()
    for route in routes:
        # Anything but a plain Route (a Mount, a WebSocket route) would escape this check.
        assert isinstance(route, Route), f"not a plain Route: {route!r}"
        methods = set(route.methods or ())
        if "GET" in methods:
            methods.discard("HEAD")  # Starlette adds HEAD to every GET route by itself
        path = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", route.path)  # drop convertors
        found |= {(method, path) for method in methods}
    return found


def document_operations() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in SPEC["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_route_table_and_openapi_list_the_same_operations() -> None:
    served, documented = route_table_operations(), document_operations()
    assert served - documented == set(), "served but not in openapi.yaml"
    assert documented - served == set(), "in openapi.yaml but not served"
    assert len(OPERATIONS) == len(served)


# -- the document is valid OpenAPI 3.1 ---------------------------------------------------


def schema_objects(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Schema Object of the document (JSON Schema 2020-12 in OpenAPI 3.1)."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}/{key}"
            if key == "schema" and isinstance(value, dict):
                yield here, value
            elif key == "schemas" and where == "#/components" and isinstance(value, dict):
                yield from ((f"{here}/{name}", s) for name, s in value.items())
            yield from schema_objects(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from schema_objects(value, f"{where}/{i}")


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def resolve(pointer: str) -> Any:
    node: Any = SPEC
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_openapi_document_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1.")
    SCHEMA.validate()  # the OpenAPI 3.1 meta-schema, as schemathesis ships it
    # That meta-schema leaves Schema Objects open; check each against JSON Schema 2020-12.
    for where, schema in schema_objects(SPEC):
        assert jsonschema_rs.meta.is_valid(schema), f"{where} is not valid JSON Schema"
    for ref in set(references(SPEC)):
        assert ref.startswith("#/"), f"external reference {ref}"
        resolve(ref)  # raises KeyError when dangling
    operation_ids = [op.definition.raw["operationId"] for op in OPERATIONS.values()]
    assert len(operation_ids) == len(set(operation_ids))
    assert SPEC["info"]["version"] == identity.__version__


def test_every_protected_operation_documents_its_challenge() -> None:
    assert SPEC["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert SPEC["components"]["securitySchemes"]["clientBasic"]["scheme"] == "basic"
    for label, op in OPERATIONS.items():
        responses = op.definition.raw["responses"]
        if secured(label):
            assert op.definition.raw["security"] == [{"bearerAuth": []}], label
            assert resolve(responses["401"]["$ref"])["headers"]["WWW-Authenticate"], label
        elif client_authenticated(label):
            # RFC 6749 §5.2: invalid_client is 401 with a Basic challenge.
            challenge = resolve(responses["401"]["$ref"])["headers"]["WWW-Authenticate"]
            assert resolve(challenge["$ref"])["schema"]["const"] == 'Basic realm="identity"'
        else:
            assert "401" not in responses, label


# -- the app keeps to the document: schemathesis, property-based --------------------------

# Operations that end the caller's session when they succeed.
SESSION_ENDING = {"POST /logout", "DELETE /sessions/{session_id}"}


def admin_only(label: str) -> bool:
    return "admin" in OPERATIONS[label].definition.raw.get("tags", [])


# Every operation anonymously; every Bearer one with a user's token; the admin API with an
# administrator's token too.
TARGETS = (
    [(label, "anonymous") for label in OPERATIONS]
    + [(label, "user") for label in OPERATIONS if secured(label)]
    + [(label, "admin") for label in OPERATIONS if admin_only(label)]
)


def case_strategy(label: str) -> st.SearchStrategy[Case[Any]]:
    op = OPERATIONS[label]
    positive = op.as_strategy(generation_mode=GenerationMode.POSITIVE)
    if not (op.body or op.path_parameters or op.query or op.headers):
        return positive  # nothing there to make invalid
    return st.one_of(positive, op.as_strategy(generation_mode=GenerationMode.NEGATIVE))


STRATEGIES = {label: case_strategy(label) for label in OPERATIONS}


class BearerSource:
    """A live access token of a fresh account; a new account once a case ends its session."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.accounts = 0
        self.token: str | None = None

    async def header(self) -> str:
        if self.token is None:
            self.accounts += 1
            email = f"fuzz-{self.accounts}@example.com"
            await register(self.client, email)
            self.token = (await login(self.client, email))["access_token"]
        return f"Bearer {self.token}"

    def spent(self) -> None:
        self.token = None


class AdminSource(BearerSource):
    """An administrator's live token, and an account for its cases to act on: a case whose
    `user_id` is a UUID gets this account's id, so the actions really happen (a new account
    once a case deletes it)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        super().__init__(client)
        self.target: str | None = None

    async def header(self) -> str:
        if self.token is None:
            self.accounts += 1
            email = f"fuzz-admin-{self.accounts}@example.com"
            await register(self.client, email)
            services = self.client.services  # type: ignore[attr-defined]
            await user_admin.change_role(
                services, email, "admin", grant=True, actor_id=None, origin=Origin()
            )
            self.token = (await login(self.client, email))["access_token"]
        return f"Bearer {self.token}"

    async def target_id(self) -> str:
        if self.target is None:
            self.accounts += 1
            self.target = (await register(self.client, f"fuzz-target-{self.accounts}@example.com"))[
                "id"
            ]
        return self.target

    def deleted(self) -> None:
        self.target = None


async def send(client: httpx.AsyncClient, case: Case[Any]) -> httpx.Response:
    """Send `case` through the app with the bytes schemathesis's own transport would send."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    prepared = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        cookies=kwargs.get("cookies"),
        json=kwargs.get("json"),
        data=kwargs.get("data"),
        files=kwargs.get("files"),
    ).prepare()
    assert prepared.method is not None
    assert prepared.url is not None
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    assert body is None or isinstance(body, bytes)
    headers = {
        name: value.decode("latin-1") if isinstance(value, bytes) else value
        for name, value in prepared.headers.items()
    }
    return await client.request(prepared.method, prepared.url, headers=headers, content=body)


def validate(case: Case[Any], response: httpx.Response) -> None:
    """Run CHECKS and the envelope check on one exchange.

    Schemathesis reports failures as a FailureGroup, a BaseExceptionGroup: one escaping an
    async test stops anyio's runner, so it is turned into an ordinary AssertionError.
    """
    try:
        case.validate_response(response, checks=CHECKS, transport_kwargs={"base_url": BASE_URL})
    except FailureGroup as failures:
        raise AssertionError(failures.message) from None
    assert_error_envelope(response)


def assert_error_envelope(response: httpx.Response) -> None:
    """Every 4xx is a JSON `{error, error_description}` with a snake_case code."""
    if not 400 <= response.status_code < 500:
        return
    assert response.headers.get("content-type") == "application/json", response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert re.fullmatch(r"[a-z][a-z0-9_]*", body.get("error", "")), body
    assert isinstance(body.get("error_description"), str), body
    assert set(body) <= {"error", "error_description", "details"}, body


@pytest.fixture
async def fuzz_client(make_client: Callable[..., Any]) -> httpx.AsyncClient:
    # A 500 must reach the checks as a response, not as an exception in the test.
    client: httpx.AsyncClient = await make_client(raise_app_exceptions=False)
    return client


@pytest.fixture
def bearer_source(fuzz_client: httpx.AsyncClient) -> BearerSource:
    return BearerSource(fuzz_client)


@pytest.fixture
def admin_source(fuzz_client: httpx.AsyncClient) -> AdminSource:
    return AdminSource(fuzz_client)


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


FUZZ_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same cases on every run, so CI is stable
    database=None,
    phases=[Phase.explicit, Phase.generate],  # a failure is reported with its curl; no shrinking
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one app and database for all examples
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


def fuzz_test(label: str, mode: str) -> Callable[..., Any]:
    """One test per operation (and per caller: anonymous, a user, an administrator), so
    `@given` draws before the coroutine runs: a draw inside it (`st.data()`) may end the
    example with hypothesis's StopTest, a BaseException that stops anyio's test runner for
    the rest of the test."""

    @pytest.mark.anyio
    @FUZZ_SETTINGS
    @given(case=STRATEGIES[label])
    async def test(
        fuzz_client: httpx.AsyncClient,
        bearer_source: BearerSource,
        admin_source: AdminSource,
        case: Case[Any],
    ) -> None:
        source = admin_source if mode == "admin" else bearer_source
        if mode != "anonymous":
            case.headers["Authorization"] = await source.header()
        if mode == "admin" and is_uuid((case.path_parameters or {}).get("user_id")):
            case.path_parameters["user_id"] = await admin_source.target_id()
        response = await send(fuzz_client, case)
        if mode != "anonymous" and (
            response.status_code == 401 or (label in SESSION_ENDING and response.is_success)
        ):
            source.spent()
        if mode == "admin" and label == "DELETE /admin/users/{user_id}" and response.is_success:
            admin_source.deleted()
        validate(case, response)
        if secured(label) and mode == "anonymous":
            # Nothing generated at random is a valid access token: `security` is truthful.
            assert response.status_code == 401, (response.status_code, response.text)
        if mode == "admin":
            # The role is honoured: anything refused is refused for its input.
            assert response.status_code != 403, response.text
        if admin_only(label) and mode == "user":
            # A user's token never passes the admin guard, whatever else the request holds.
            assert response.status_code in (401, 403), (response.status_code, response.text)

    caller = {"anonymous": "", "user": " with a user's token", "admin": " with an admin's token"}
    test.__doc__ = f"{label}{caller[mode]} keeps to openapi.yaml."
    wrapped: Callable[..., Any] = test
    return wrapped


for _label, _mode in TARGETS:
    _name = "test_fuzz_" + "_".join(re.findall(r"[a-z0-9]+", _label.lower()))
    _suffix = {"anonymous": "", "user": "_bearer", "admin": "_admin"}[_mode]
    globals()[_name + _suffix] = fuzz_test(_label, _mode)


# -- the answers random input rarely reaches ---------------------------------------------


def conforms(label: str, response: httpx.Response, **case: Any) -> httpx.Response:
    validate(OPERATIONS[label].Case(**case), response)
    return response


async def test_scripted_flow_keeps_to_openapi(client: httpx.AsyncClient) -> None:
    r = await client.post("/register", json={"email": "alice@example.com", "password": PASSWORD})
    assert conforms("POST /register", r).status_code == 201
    r = await client.post("/register", json={"email": "Alice@example.com", "password": PASSWORD})
    assert conforms("POST /register", r).json()["error"] == "email_taken"
    r = await client.post("/register", json={"email": "bob@example.com", "password": "password"})
    assert conforms("POST /register", r).json()["error"] == "weak_password"

    await register_client(client.services, "spa", scopes=["read", "write"])
    secret = await register_client(
        client.services, "billing", confidential=True, scopes=["invoices:read"],
        can_introspect=True,
    )  # fmt: skip
    r = await password_grant(client, scope="read write", client_id="spa")
    tokens = conforms("POST /token", r).json()
    assert r.status_code == 200
    r = await client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "scope": "read",
            "client_id": "spa",
        },
    )
    assert conforms("POST /token", r).status_code == 200
    spa_refresh = r.json()["refresh_token"]
    r = await client.post("/refresh", json={"refresh_token": spa_refresh})
    assert conforms("POST /refresh", r).json()["error"] == "invalid_grant"  # another client's
    first = (await login(client))["refresh_token"]
    r = await client.post("/refresh", json={"refresh_token": first})
    assert conforms("POST /refresh", r).status_code == 200
    r = await client.post("/refresh", json={"refresh_token": r.json()["refresh_token"]})
    assert conforms("POST /refresh", r).status_code == 200
    r = await client.post("/refresh", json={"refresh_token": first})
    assert conforms("POST /refresh", r).json()["error"] == "invalid_grant"  # a replay

    service = ("billing", str(secret))
    grant = {"grant_type": "client_credentials", "scope": "invoices:read"}
    r = await client.post("/token", data=grant, auth=service)
    assert conforms("POST /token", r).status_code == 200
    service_token = r.json()["access_token"]
    r = await client.post("/token", data=grant, auth=("billing", "cs_wrong"))
    assert conforms("POST /token", r).json()["error"] == "invalid_client"
    r = await client.post("/introspect", data={"token": service_token}, auth=service)
    assert conforms("POST /introspect", r).json()["active"] is True
    r = await client.post("/introspect", data={"token": "nothing of ours"}, auth=service)
    assert conforms("POST /introspect", r).json() == {"active": False}
    r = await client.post("/introspect", data={"token": service_token})
    assert conforms("POST /introspect", r).status_code == 401
    r = await client.post("/revoke", data={"token": spa_refresh, "client_id": "spa"})
    assert conforms("POST /revoke", r).status_code == 200
    r = await client.post("/revoke", data={})
    assert conforms("POST /revoke", r).json()["error"] == "invalid_request"

    auth = bearer(await login(client))
    await login(client)  # another session to list and end
    r = await client.get("/me", headers=auth)
    assert conforms("GET /me", r).status_code == 200
    r = await client.patch("/me", json={"display_name": "Alice"}, headers=auth)
    assert conforms("PATCH /me", r).json()["display_name"] == "Alice"
    r = await client.get("/sessions", headers=auth)
    listed = conforms("GET /sessions", r).json()["sessions"]
    sid = next(s["id"] for s in listed if not s["current"])
    r = await client.delete(f"/sessions/{sid}", headers=auth)
    label = "DELETE /sessions/{session_id}"
    assert conforms(label, r, path_parameters={"session_id": sid}).status_code == 204

    r = await client.post(
        "/change-password",
        json={"current_password": "not it", "new_password": OTHER_PASSWORD},
        headers=auth,
    )
    assert conforms("POST /change-password", r).json()["error"] == "invalid_current_password"
    r = await client.post(
        "/change-password",
        json={"current_password": PASSWORD, "new_password": OTHER_PASSWORD},
        headers=auth,
    )
    assert conforms("POST /change-password", r).status_code == 204

    r = await client.get("/.well-known/jwks.json")
    assert conforms("GET /.well-known/jwks.json", r).status_code == 200
    etag = r.headers["etag"]
    r = await client.get("/.well-known/jwks.json", headers={"If-None-Match": etag})
    assert conforms("GET /.well-known/jwks.json", r).status_code == 304
    r = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert conforms("GET /metrics", r).headers["content-type"].startswith("application/openm")

    r = await client.post("/logout", json={"scope": "all"}, headers=auth)
    assert conforms("POST /logout", r).status_code == 204
    r = await client.get("/me", headers=auth)
    assert conforms("GET /me", r).status_code == 401
    r = await client.get("/me")
    assert conforms("GET /me", r).headers["www-authenticate"] == 'Bearer realm="identity"'


async def test_scripted_admin_answers_keep_to_openapi(client: AppClient) -> None:
    await register(client, "root@example.com")
    await user_admin.change_role(
        client.services, "root@example.com", "admin", grant=True, actor_id=None, origin=Origin()
    )
    auth = bearer(await login(client, "root@example.com"))
    r = await client.post("/admin/clients", json={"client_id": "billing"}, headers=auth)
    assert conforms("POST /admin/clients", r).status_code == 201
    r = await client.post(
        "/admin/clients", json={"client_id": "spa", "confidential": False}, headers=auth
    )
    assert conforms("POST /admin/clients", r).json()["client_secret"] is None
    one = {"path_parameters": {"client_id": "billing"}}
    r = await client.patch("/admin/clients/billing", json={"scopes": ["a"]}, headers=auth)
    assert conforms("PATCH /admin/clients/{client_id}", r, **one).status_code == 200
    r = await client.post("/admin/clients/billing/secret", headers=auth)
    assert conforms("POST /admin/clients/{client_id}/secret", r, **one).status_code == 200
    r = await client.post("/admin/clients/identity/disable", headers=auth)
    label = "POST /admin/clients/{client_id}/disable"
    assert conforms(label, r, path_parameters={"client_id": "identity"}).status_code == 422
    r = await client.get("/admin/clients", params={"limit": "1"}, headers=auth)
    assert conforms("GET /admin/clients", r).json()["next_cursor"] is not None
    r = await client.get("/admin/events", params={"type": "client_created"}, headers=auth)
    assert len(conforms("GET /admin/events", r).json()["items"]) == 2
    r = await client.get("/admin/events/export", headers=auth)
    assert conforms("GET /admin/events/export", r).status_code == 200
    for line in r.text.splitlines():
        jsonschema_rs.validate(resolve("#/components/schemas/Event"), json.loads(line))


async def test_throttled_answers_keep_to_openapi(make_client: Callable[..., Any]) -> None:
    # The suite runs unthrottled; this one client turns the limiter on to see its 429s.
    # Limits of 2: a burst of two passes, the third is refused.
    client: httpx.AsyncClient = await make_client(
        rate_limit_enabled=True, rate_limit_register_per_hour=2, rate_limit_token_per_minute=2
    )
    await register(client)
    await register(client, "bob@example.com")
    r = await client.post("/register", json={"email": "eve@example.com", "password": PASSWORD})
    assert conforms("POST /register", r).status_code == 429
    await login(client)
    await login(client, "bob@example.com")
    r = await password_grant(client)
    assert conforms("POST /token", r).status_code == 429
    assert r.headers["cache-control"] == "no-store"


BAD_BODIES: list[tuple[str, str, bytes, str]] = [
    ("POST /register", "/register", b"email=a", "application/x-www-form-urlencoded"),
    ("POST /register", "/register", b'{"email": ', "application/json"),
    ("POST /register", "/register", b'{"email": 1}', "application/json"),
    ("POST /register", "/register", b'{"email": "' + b"x" * 70_000 + b'"}', "application/json"),
    ("POST /token", "/token", b'{"grant_type": "password"}', "application/json"),
    ("POST /token", "/token", b"grant_type=password&password=" + b"x" * 70_000,
     "application/x-www-form-urlencoded"),
    ("POST /refresh", "/refresh", b"refresh_token=x", "application/x-www-form-urlencoded"),
    ("POST /refresh", "/refresh", b'{"refresh_token": "' + b"x" * 70_000 + b'"}',
     "application/json"),
    ("PATCH /me", "/me", b"display_name=x", "text/plain"),
    ("PATCH /me", "/me", b"\xff", "application/json"),
    ("POST /logout", "/logout", b"scope=all", "application/x-www-form-urlencoded"),
    ("POST /logout", "/logout", b'{"scope": "everyone"}', "application/json"),
    ("POST /change-password", "/change-password", b"[]", "application/json"),
    ("POST /change-password", "/change-password", b"{}", "text/json"),
]  # fmt: skip


async def test_refused_bodies_keep_to_openapi(client: httpx.AsyncClient) -> None:
    """Wrong content types, broken and oversized bodies: the 400/413/415/422 of the document."""
    await register(client)
    headers = bearer(await login(client))
    seen = set()
    for label, path, content, content_type in BAD_BODIES:
        method = label.split(" ", 1)[0]
        r = await client.request(
            method, path, content=content, headers={**headers, "Content-Type": content_type}
        )
        assert 400 <= conforms(label, r).status_code < 500, (label, content[:40], r.text)
        seen.add(r.status_code)
    assert seen == {400, 413, 415, 422}


async def test_scripted_admin_flow_keeps_to_openapi(client: AppClient) -> None:
    """The admin answers random ids rarely reach: 201, 204, 409, weak_password, and a real
    session and device ended and forgotten."""
    await register(client, "root@example.com")
    await user_admin.change_role(
        client.services, "root@example.com", "admin", grant=True, actor_id=None, origin=Origin()
    )
    admin = bearer(await login(client, "root@example.com"))
    body = {"email": "alice@example.com", "password": PASSWORD, "roles": ["auditor"]}
    r = await client.post("/admin/users", json=body, headers=admin)
    assert conforms("POST /admin/users", r).status_code == 201
    uid = r.json()["id"]
    r = await client.post("/admin/users", json=body, headers=admin)
    assert conforms("POST /admin/users", r).json()["error"] == "email_taken"
    weak = {"email": "bob@example.com", "password": "password"}
    r = await client.post("/admin/users", json=weak, headers=admin)
    assert conforms("POST /admin/users", r).json()["error"] == "weak_password"

    tokens = await login(client)
    sid = claims_of(tokens["access_token"])["sid"]
    for _ in range(5):
        await password_grant(client, "alice@example.com", "wrong wrong", device_token="x")
    user = {"user_id": uid}
    r = await client.get(f"/admin/users/{uid}", headers=admin)
    assert conforms("GET /admin/users/{user_id}", r, path_parameters=user).json()["lock"]["locked"]
    r = await client.get("/admin/users", params={"locked": "true", "limit": "1"}, headers=admin)
    assert conforms("GET /admin/users", r, query={"locked": True, "limit": 1}).status_code == 200
    r = await client.get(f"/admin/users/{uid}/devices", headers=admin)
    device_id = conforms("GET /admin/users/{user_id}/devices", r, path_parameters=user).json()[
        "items"
    ][0]["id"]
    label = "DELETE /admin/users/{user_id}/devices/{device_id}"
    r = await client.delete(f"/admin/users/{uid}/devices/{device_id}", headers=admin)
    params = {**user, "device_id": device_id}
    assert conforms(label, r, path_parameters=params).status_code == 204
    r = await client.delete(f"/admin/users/{uid}/devices/{device_id}", headers=admin)
    assert conforms(label, r, path_parameters=params).json()["error"] == "device_not_found"

    r = await client.get(f"/admin/users/{uid}/sessions", headers=admin)
    assert (
        conforms("GET /admin/users/{user_id}/sessions", r, path_parameters=user).json()["items"][0][
            "status"
        ]
        == "live"
    )
    label = "DELETE /admin/users/{user_id}/sessions/{session_id}"
    params = {**user, "session_id": sid}
    r = await client.delete(f"/admin/users/{uid}/sessions/{sid}", headers=admin)
    assert conforms(label, r, path_parameters=params).status_code == 204
    r = await client.delete(f"/admin/users/{uid}/sessions/{sid}", headers=admin)
    assert conforms(label, r, path_parameters=params).json()["error"] == "session_not_found"
    r = await client.post(f"/admin/users/{uid}/unlock", headers=admin)
    assert conforms("POST /admin/users/{user_id}/unlock", r, path_parameters=user).json()[
        "lock"
    ] == {"locked": False, "account_locked_at": None, "reason": None, "locked_devices": 0}
    r = await client.delete(f"/admin/users/{uid}", headers=admin)
    assert conforms("DELETE /admin/users/{user_id}", r, path_parameters=user).status_code == 204
    r = await client.get(f"/admin/users/{uid}", headers=admin)
    assert conforms("GET /admin/users/{user_id}", r, path_parameters=user).status_code == 404
