"""GET /openapi.yaml (the HTTP contract) and GET /docs (Swagger UI over it), served from
files inside the package: the page loads nothing from another origin, so it works offline.

The contract is `identity/http/openapi.yaml`, the one source (tests/integration/test_openapi.py
keeps it equal to the route table). Swagger UI is vendored under `static/swagger-ui/`.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response

from identity.errors import NotFound

_HERE = files("identity.http")
_STATIC = _HERE / "static"
OPENAPI_YAML: bytes = (_HERE / "openapi.yaml").read_bytes()
_PAGE: bytes = (_STATIC / "docs.html").read_bytes()

# The page's own policy (security_headers.py leaves a route's CSP alone): everything from
# this origin only, no inline script or style, no framing, no form posts, no <base>.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# Unversioned URLs: browsers may keep them an hour, then revalidate.
_ASSET_CACHE = {"Cache-Control": "public, max-age=3600"}
_ASSETS: dict[str, tuple[bytes, str]] = {
    "swagger-ui-bundle.js": (
        (_STATIC / "swagger-ui" / "swagger-ui-bundle.js").read_bytes(),
        "text/javascript; charset=utf-8",
    ),
    "swagger-ui.css": (
        (_STATIC / "swagger-ui" / "swagger-ui.css").read_bytes(),
        "text/css; charset=utf-8",
    ),
    "docs.js": ((_STATIC / "docs.js").read_bytes(), "text/javascript; charset=utf-8"),
}
ASSET_NAMES = tuple(_ASSETS)


async def openapi_yaml(request: Request) -> Response:
    return Response(
        OPENAPI_YAML, media_type="application/yaml", headers={"Cache-Control": "no-cache"}
    )


async def docs_page(request: Request) -> Response:
    headers = {"Cache-Control": "no-cache", "Content-Security-Policy": DOCS_CSP}
    return Response(_PAGE, media_type="text/html; charset=utf-8", headers=headers)


async def docs_asset(request: Request) -> Response:
    found = _ASSETS.get(request.path_params["asset"])
    if found is None:
        raise NotFound
    body, media_type = found
    return Response(body, media_type=media_type, headers=_ASSET_CACHE)
