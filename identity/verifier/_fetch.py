"""HTTP for the verifier: discovery (RFC 8414), the JWKS GET with ETag, Cache-Control.

Every failure (network, status, size, content) becomes JWKSUnavailable; nothing here
ever raises anything else at the verifier.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from identity.verifier.errors import JWKSUnavailable

MAX_DOCUMENT_BYTES = 256 * 1024  # a JWKS of a dozen RSA keys is ~10 KiB
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class _Answer:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes


@dataclass(frozen=True, slots=True)
class JWKSResponse:
    """One answer of the JWKS endpoint; `body` is None for 304 Not Modified."""

    body: bytes | None
    max_age: float | None  # freshness lifetime from Cache-Control minus Age; None if unsaid
    etag: str | None


def freshness(headers: httpx.Headers) -> float | None:
    """Seconds the response stays fresh per RFC 9111 §4.2.1, or None when unspecified."""
    directives: dict[str, str] = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.strip().partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    raw = directives.get("max-age")
    if raw is None:
        return None
    try:
        max_age = float(int(raw))
        age = float(int(headers.get("age", "0")))
    except ValueError:
        return None
    return max(0.0, max_age - max(0.0, age))


class Fetcher:
    """Finds the JWKS URL (once, through discovery if asked) and fetches the key set."""

    def __init__(
        self,
        *,
        issuer: str,
        jwks_url: str | None,
        discovery_url: str | None,
        http_client: httpx.AsyncClient | None,
        sync_http_client: httpx.Client | None,
    ) -> None:
        if (jwks_url is None) == (discovery_url is None):
            raise ValueError("give exactly one of jwks_url and discovery_url")
        self._issuer = issuer
        self._jwks_url = jwks_url
        self._discovery_url = discovery_url
        self._client = http_client
        self._sync_client = sync_http_client
        self._owns_client = http_client is None
        self._owns_sync_client = sync_http_client is None

    # -- async ------------------------------------------------------------------------

    async def fetch(self, etag: str | None) -> JWKSResponse:
        url = self._jwks_url or await self._discover()
        response = await self._get(url, etag)
        return _jwks_response(response)

    async def _discover(self) -> str:
        response = await self._get(self._metadata_url(), None)
        self._jwks_url = self._jwks_uri_from(response)
        return self._jwks_url

    async def _get(self, url: str, etag: str | None) -> _Answer:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        try:
            async with self._client.stream("GET", url, headers=_headers(etag)) as response:
                body = _Body(url)
                async for chunk in response.aiter_bytes():
                    body.add(chunk)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise _unavailable(url, exc) from exc
        return _Answer(url, response.status_code, response.headers, body.bytes())

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- sync (the same steps, for verify_sync) ---------------------------------------

    def fetch_sync(self, etag: str | None) -> JWKSResponse:
        url = self._jwks_url or self._discover_sync()
        return _jwks_response(self._get_sync(url, etag))

    def _discover_sync(self) -> str:
        self._jwks_url = self._jwks_uri_from(self._get_sync(self._metadata_url(), None))
        return self._jwks_url

    def _get_sync(self, url: str, etag: str | None) -> _Answer:
        if self._sync_client is None:
            self._sync_client = httpx.Client(timeout=DEFAULT_TIMEOUT)
        try:
            with self._sync_client.stream("GET", url, headers=_headers(etag)) as response:
                body = _Body(url)
                for chunk in response.iter_bytes():
                    body.add(chunk)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise _unavailable(url, exc) from exc
        return _Answer(url, response.status_code, response.headers, body.bytes())

    def close(self) -> None:
        if self._owns_sync_client and self._sync_client is not None:
            self._sync_client.close()
            self._sync_client = None

    # -- shared -----------------------------------------------------------------------

    def _metadata_url(self) -> str:
        if self._discovery_url is None:  # pragma: no cover - the constructor ensures one URL
            raise JWKSUnavailable("no JWKS or discovery URL configured")
        return self._discovery_url

    def _jwks_uri_from(self, answer: _Answer) -> str:
        url = answer.url
        if answer.status != 200:
            raise JWKSUnavailable(f"{url} answered {answer.status}")
        try:
            metadata = json.loads(answer.body)
        except ValueError as exc:
            raise JWKSUnavailable(f"{url} is not JSON") from exc
        if not isinstance(metadata, dict):
            raise JWKSUnavailable(f"{url} is not a metadata document")
        # RFC 8414 §3.3: the issuer in the metadata must be identical to the one expected,
        # or an attacker's metadata could point us at their keys.
        if metadata.get("issuer") != self._issuer:
            raise JWKSUnavailable(f"{url} names another issuer")
        jwks_uri = metadata.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise JWKSUnavailable(f"{url} has no usable jwks_uri")
        return jwks_uri


def _headers(etag: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if etag:
        headers["If-None-Match"] = etag
    return headers


class _Body:
    """A response body read chunk by chunk, refused once it outgrows any sane key set."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._data = bytearray()

    def add(self, chunk: bytes) -> None:
        self._data += chunk
        if len(self._data) > MAX_DOCUMENT_BYTES:
            raise JWKSUnavailable(f"{self._url} answered more than {MAX_DOCUMENT_BYTES} bytes")

    def bytes(self) -> bytes:
        return bytes(self._data)


def _unavailable(url: str, exc: Exception) -> JWKSUnavailable:
    return JWKSUnavailable(f"{url} could not be fetched: {type(exc).__name__}")


def _jwks_response(answer: _Answer) -> JWKSResponse:
    etag = answer.headers.get("etag")
    if answer.status == 304:
        return JWKSResponse(body=None, max_age=freshness(answer.headers), etag=etag)
    if answer.status != 200:
        raise JWKSUnavailable(f"{answer.url} answered {answer.status}")
    return JWKSResponse(body=answer.body, max_age=freshness(answer.headers), etag=etag)
