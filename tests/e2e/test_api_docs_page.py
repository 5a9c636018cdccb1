"""GET /docs in a real browser (headless Chromium, driven by Playwright) against the real
server: every operation of openapi.yaml is on the page, the page's own CSP refuses
nothing it needs, and no request leaves 127.0.0.1 while it loads.

Debian's `chromium` is the browser (Playwright downloads none); skipped where it is absent.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from identity.http.api_docs import OPENAPI_YAML
from tests.e2e.server import running_server

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def documented_operations() -> set[tuple[str, str]]:
    spec = yaml.safe_load(OPENAPI_YAML)
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)")
def test_docs_page_shows_every_operation_and_stays_on_this_host(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    expected = documented_operations()
    requested: list[str] = []
    problems: list[str] = []
    started = time.monotonic()
    with running_server(tmp_path) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            # A CSP refusal is reported on the console; so is any script error.
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            response = page.goto(f"{url}/docs", wait_until="networkidle")
            assert response is not None
            assert response.status == 200
            page.wait_for_function(
                "n => document.querySelectorAll('.opblock').length >= n", arg=len(expected)
            )
            shown = page.eval_on_selector_all(
                ".opblock",
                """blocks => blocks.map(b => [
                    b.querySelector('.opblock-summary-method').textContent.trim(),
                    b.querySelector('.opblock-summary-path').getAttribute('data-path'),
                ])""",
            )
        finally:
            browser.close()
    print(f"browser check took {time.monotonic() - started:.1f}s")  # noqa: T201

    assert {(method, path) for method, path in shown} == expected
    assert len(shown) == len(expected)
    assert problems == []
    assert requested, "the page made no request at all"
    for request_url in requested:
        parts = urlsplit(request_url)
        assert parts.scheme == "data" or parts.hostname == "127.0.0.1", request_url
    paths = {urlsplit(u).path for u in requested}
    assert {"/docs", "/openapi.yaml", "/docs/assets/swagger-ui-bundle.js"} <= paths
