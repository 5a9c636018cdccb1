"""The JWKS cache, against a respx-mocked JWKS endpoint and a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
import respx

from identity.verifier import InvalidToken, InvalidTokenReason, JWKSUnavailable, Verifier
from tests.verifier.factory import (
    AUDIENCE,
    DISCOVERY_URL,
    ISSUER,
    JWKS_URL,
    FakeClock,
    PrivateKey,
    claims,
    jwks_response,
    make_key,
    sign,
)

MakeVerifier = Callable[..., Verifier]


def good_token(key: PrivateKey, clock: FakeClock) -> str:
    return sign(key, claims(now=clock.now))


# -- caching for max-age -----------------------------------------------------------------


async def test_key_set_is_cached_for_its_max_age(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    signing_key: PrivateKey,
    fake_clock: FakeClock,
) -> None:
    route = router.get(JWKS_URL).mock(return_value=jwks_response(signing_key, max_age=120))
    verifier = make_verifier()

    await verifier.verify(good_token(signing_key, fake_clock))
    fake_clock.advance(119)
    await verifier.verify(good_token(signing_key, fake_clock))
    assert route.call_count == 1

    fake_clock.advance(2)  # 121 s after the fetch: stale, so fetched again
    await verifier.verify(good_token(signing_key, fake_clock))
    assert route.call_count == 2


async def test_revalidation_sends_the_etag_and_a_304_keeps_the_keys(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    signing_key: PrivateKey,
    fake_clock: FakeClock,
) -> None:
    route = router.get(JWKS_URL).mock(
        side_effect=[
            jwks_response(signing_key, max_age=60, etag='"v7"'),
            httpx.Response(304, headers={"Cache-Control": "max-age=60", "ETag": '"v7"'}),
        ]
    )
    verifier = make_verifier()
    await verifier.verify(good_token(signing_key, fake_clock))
    fake_clock.advance(61)
    await verifier.verify(good_token(signing_key, fake_clock))

    assert route.call_count == 2
    assert "if-none-match" not in route.calls[0].request.headers
    assert route.calls[1].request.headers["if-none-match"] == '"v7"'
    fake_clock.advance(59)  # the 304's max-age renewed the set
    await verifier.verify(good_token(signing_key, fake_clock))
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("cache_headers", "fresh_for"),
    [
        ({}, 300.0),  # no Cache-Control: the verifier's cache_ttl
        ({"Cache-Control": "public, max-age=100", "Age": "40"}, 60.0),  # RFC 9111 age
        ({"Cache-Control": "no-cache"}, 10.0),  # the floor, not a fetch per request
        ({"Cache-Control": "max-age=0"}, 10.0),
        ({"Cache-Control": "max-age=999999999"}, 86_400.0),  # the ceiling
        ({"Cache-Control": "max-age=banana"}, 300.0),
    ],
)
async def test_freshness_comes_from_cache_control_within_bounds(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    signing_key: PrivateKey,
    fake_clock: FakeClock,
    cache_headers: dict[str, str],
    fresh_for: float,
) -> None:
    response = jwks_response(signing_key, max_age=None, etag=None, **cache_headers)
    route = router.get(JWKS_URL).mock(return_value=response)
    verifier = make_verifier()
    await verifier.verify(good_token(signing_key, fake_clock))
    fake_clock.advance(fresh_for - 1)
    await verifier.verify(good_token(signing_key, fake_clock))
    assert route.call_count == 1
    fake_clock.advance(1)
    await verifier.verify(good_token(signing_key, fake_clock))
    assert route.call_count == 2


# -- one shared fetch --------------------------------------------------------------------


async def test_concurrent_verifications_on_a_cold_cache_make_exactly_one_fetch(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    signing_key: PrivateKey,
    fake_clock: FakeClock,
) -> None:
    async def slow_jwks(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)  # long enough for all 100 callers to pile up
        return jwks_response(signing_key)

    route = router.get(JWKS_URL).mock(side_effect=slow_jwks)
    verifier = make_verifier()
    token = good_token(signing_key, fake_clock)

    results = await asyncio.gather(*(verifier.verify(token) for _ in range(100)))

    assert route.call_count == 1
    assert {r.jti for r in results} == {"f0e1d2c3b4a5"}


async def test_a_failed_shared_fetch_fails_every_waiter_once(
    make_verifier: MakeVerifier, router: respx.MockRouter, signing_key: PrivateKey
) -> None:
    async def down(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.02)
        raise httpx.ConnectError("connection refused")

    route = router.get(JWKS_URL).mock(side_effect=down)
    verifier = make_verifier()
    token = sign(signing_key)
    results = await asyncio.gather(
        *(verifier.verify(token) for _ in range(20)), return_exceptions=True
    )
    assert route.call_count == 1
    assert all(isinstance(r, JWKSUnavailable) for r in results)


async def test_a_cancelled_caller_does_not_cancel_the_fetch_others_wait_for(
    make_verifier: MakeVerifier, router: respx.MockRouter, signing_key: PrivateKey
) -> None:
    async def slow_jwks(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return jwks_response(signing_key)

    route = router.get(JWKS_URL).mock(side_effect=slow_jwks)
    verifier = make_verifier()
    token = sign(signing_key)
    first = asyncio.ensure_future(verifier.verify(token))
    second = asyncio.ensure_future(verifier.verify(token))
    await asyncio.sleep(0.01)
    first.cancel()
    result = await second
    assert result.sub == claims()["sub"]
    assert first.cancelled()
    assert route.call_count == 1


# -- unknown kid -------------------------------------------------------------------------


async def test_unknown_kid_refetches_once_then_rejects_and_refetches_are_rate_limited(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    signing_key: PrivateKey,
    fake_clock: FakeClock,
) -> None:
    route = router.get(JWKS_URL).mock(return_value=jwks_response(signing_key, max_age=3600))
    verifier = make_verifier(refetch_interval=30)
    await verifier.verify(good_token(signing_key, fake_clock))  # fetch 1: warm
    stranger = make_key("ES256", "key-from-nowhere")
    fake_clock.advance(30)

    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(good_token(stranger, fake_clock))
    assert caught.value.reason is InvalidTokenReason.UNKNOWN_KEY
    assert route.call_count == 2  # exactly one refetch for the unknown kid

    for _ in range(50):  # a flood of forged kids inside the interval: no more fetches
        with pytest.raises(InvalidToken):
            await verifier.verify(good_token(make_key("ES256", "forged"), fake_clock))
    assert route.call_count == 2
    await verifier.verify(good_token(signing_key, fake_clock))  # known keys unaffected

    fake_clock.advance(30)
    with pytest.raises(InvalidToken):
        await verifier.verify(good_token(stranger, fake_clock))
    assert route.call_count == 3


async def test_unknown_kid_right_after_a_fetch_is_rejected_without_another(
    make_verifier: MakeVerifier, jwks_route: respx.Route, fake_clock: FakeClock
) -> None:
    verifier = make_verifier()
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(good_token(make_key("ES256", "nope"), fake_clock))
    assert caught.value.reason is InvalidTokenReason.UNKNOWN_KEY
    assert jwks_route.call_count == 1  # the cold fetch was the refetch


async def test_refetch_on_unknown_kid_finds_a_newly_published_key(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    signing_key: PrivateKey,
    fake_clock: FakeClock,
) -> None:
    new_key = make_key("ES256", "key-2")
    route = router.get(JWKS_URL).mock(
        side_effect=[
            jwks_response(signing_key, max_age=3600),
            jwks_response(signing_key, new_key, max_age=3600),
        ]
    )
    verifier = make_verifier()
    await verifier.verify(good_token(signing_key, fake_clock))
    fake_clock.advance(31)
    verified = await verifier.verify(good_token(new_key, fake_clock))
    assert verified.sub == claims()["sub"]
    assert route.call_count == 2


async def test_concurrent_unknown_kids_share_one_refetch(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    signing_key: PrivateKey,
    fake_clock: FakeClock,
) -> None:
    async def jwks(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.02)
        return jwks_response(signing_key, max_age=3600)

    route = router.get(JWKS_URL).mock(side_effect=jwks)
    verifier = make_verifier()
    await verifier.verify(good_token(signing_key, fake_clock))
    fake_clock.advance(60)
    forged = [good_token(make_key("ES256", f"forged-{i}"), fake_clock) for i in range(3)]
    results = await asyncio.gather(
        *(verifier.verify(t) for t in forged * 10), return_exceptions=True
    )
    assert all(isinstance(r, InvalidToken) for r in results)
    assert route.call_count == 2


# -- the identity service unreachable ----------------------------------------------------


async def test_known_keys_work_for_the_stale_window_then_jwks_unavailable(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    signing_key: PrivateKey,
    fake_clock: FakeClock,
) -> None:
    route = router.get(JWKS_URL).mock(return_value=jwks_response(signing_key, max_age=60))
    verifier = make_verifier(stale_ttl=600, retry_interval=5)
    await verifier.verify(good_token(signing_key, fake_clock))

    route.mock(side_effect=httpx.ConnectError("connection refused"))
    fake_clock.advance(60)  # expired: a fetch is tried, fails, the known key still works
    await verifier.verify(good_token(signing_key, fake_clock))
    assert route.call_count == 2
    await verifier.verify(good_token(signing_key, fake_clock))
    assert route.call_count == 2  # failures back off for retry_interval, not per request

    fake_clock.advance(599)  # 60 + 599 < 60 + 600: still inside the window
    await verifier.verify(good_token(signing_key, fake_clock))
    assert route.call_count == 3

    fake_clock.advance(1)  # the window is over
    with pytest.raises(JWKSUnavailable):
        await verifier.verify(good_token(signing_key, fake_clock))

    route.mock(return_value=jwks_response(signing_key, max_age=60), side_effect=None)
    fake_clock.advance(5)  # the service is back: next attempt succeeds, tokens verify
    await verifier.verify(good_token(signing_key, fake_clock))


async def test_unknown_kid_while_the_service_is_down_is_unavailable_not_invalid(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    signing_key: PrivateKey,
    fake_clock: FakeClock,
) -> None:
    route = router.get(JWKS_URL).mock(return_value=jwks_response(signing_key, max_age=3600))
    verifier = make_verifier()
    await verifier.verify(good_token(signing_key, fake_clock))
    route.mock(side_effect=httpx.ReadTimeout("slow"))
    fake_clock.advance(30)
    # The key may be a freshly rotated, legitimate one: we cannot tell, so 503, not 401.
    with pytest.raises(JWKSUnavailable):
        await verifier.verify(good_token(make_key("ES256", "key-2"), fake_clock))
    await verifier.verify(good_token(signing_key, fake_clock))


async def test_cold_cache_with_the_service_down_is_unavailable_and_backs_off(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    signing_key: PrivateKey,
    fake_clock: FakeClock,
) -> None:
    route = router.get(JWKS_URL).mock(return_value=httpx.Response(502))
    verifier = make_verifier(retry_interval=5)
    token = good_token(signing_key, fake_clock)
    for _ in range(10):
        with pytest.raises(JWKSUnavailable):
            await verifier.verify(token)
    assert route.call_count == 1
    fake_clock.advance(5)
    route.mock(return_value=jwks_response(signing_key))
    await verifier.verify(good_token(signing_key, fake_clock))
    assert route.call_count == 2


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b"<html>gateway</html>"),
        httpx.Response(200, content=b"\xff\xfe"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"keys": "nope"}),
        httpx.Response(200, json={"no_keys": []}),
        httpx.Response(200, json={"keys": []}),
        httpx.Response(200, json={"keys": [42, "x", None, {"kty": "EC"}]}),
        httpx.Response(200, json={"keys": [{"kty": "EC", "kid": "k", "crv": "P-256", "x": "!"}]}),
        httpx.Response(200, json={"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}),
        httpx.Response(200, content=b"{" * 100_000),
        httpx.Response(200, content=b" " * (300 * 1024)),
        httpx.Response(304),
        httpx.Response(404, json={"error": "not_found"}),
        httpx.Response(301, headers={"Location": "https://evil.test/jwks"}),
    ],
    ids=[
        "html",
        "not-utf8",
        "json-list",
        "keys-not-list",
        "no-keys",
        "empty",
        "junk-members",
        "bad-coordinates",
        "symmetric-only",
        "deep-nesting",
        "oversized",
        "304-cold",
        "404",
        "redirect-not-followed",
    ],
)
async def test_malformed_jwks_is_unavailable_not_a_crash(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    signing_key: PrivateKey,
    response: httpx.Response,
) -> None:
    router.get(JWKS_URL).mock(return_value=response)
    verifier = make_verifier()
    with pytest.raises(JWKSUnavailable):
        await verifier.verify(sign(signing_key))


async def test_a_malformed_refetch_keeps_the_keys_we_hold(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    signing_key: PrivateKey,
    fake_clock: FakeClock,
) -> None:
    route = router.get(JWKS_URL).mock(return_value=jwks_response(signing_key, max_age=60))
    verifier = make_verifier()
    await verifier.verify(good_token(signing_key, fake_clock))
    route.mock(return_value=httpx.Response(200, json={"keys": []}))
    fake_clock.advance(61)
    await verifier.verify(good_token(signing_key, fake_clock))
    assert route.call_count == 2


async def test_unusable_members_are_skipped_and_the_rest_kept(
    make_verifier: MakeVerifier, router: respx.MockRouter, signing_key: PrivateKey
) -> None:
    leaked = make_key("ES256", "leaked")
    document = {
        "keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            dict(leaked.as_dict(private=True)),  # a private key must never be trusted
            {**leaked.as_dict(private=False), "kid": "enc", "use": "enc"},
            {**leaked.as_dict(private=False), "kid": "ops", "key_ops": ["encrypt"]},
            dict(signing_key.as_dict(private=False)),
            {**make_key("ES256", "key-1").as_dict(private=False)},  # duplicate kid
        ]
    }
    router.get(JWKS_URL).mock(return_value=httpx.Response(200, json=document))
    verifier = make_verifier()
    await verifier.verify(sign(signing_key))
    for kid in ("leaked", "enc", "ops"):
        with pytest.raises(InvalidToken) as caught:
            await verifier.verify(sign(leaked, kid=kid))
        assert caught.value.reason is InvalidTokenReason.UNKNOWN_KEY


# -- discovery ---------------------------------------------------------------------------


async def test_discovery_finds_the_jwks_once(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    jwks_route: respx.Route,
    signing_key: PrivateKey,
    fake_clock: FakeClock,
) -> None:
    metadata = router.get(DISCOVERY_URL).mock(
        return_value=httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": JWKS_URL})
    )
    verifier = make_verifier(discovery_url=DISCOVERY_URL)
    await verifier.verify(good_token(signing_key, fake_clock))
    fake_clock.advance(301)
    await verifier.verify(good_token(signing_key, fake_clock))
    assert metadata.call_count == 1
    assert jwks_route.call_count == 2


@pytest.mark.parametrize(
    "metadata",
    [
        {"issuer": "https://evil.test", "jwks_uri": "https://evil.test/jwks"},
        {"issuer": ISSUER + "/", "jwks_uri": JWKS_URL},
        {"issuer": ISSUER},
        {"issuer": ISSUER, "jwks_uri": "file:///etc/passwd"},
        {"issuer": ISSUER, "jwks_uri": "https://[::1/jwks"},
        ["not", "metadata"],
    ],
)
async def test_discovery_refuses_metadata_of_another_issuer_or_without_jwks(
    make_verifier: MakeVerifier,
    router: respx.MockRouter,
    signing_key: PrivateKey,
    metadata: object,
) -> None:
    router.get(DISCOVERY_URL).mock(return_value=httpx.Response(200, json=metadata))
    evil = router.get("https://evil.test/jwks").mock(return_value=jwks_response(signing_key))
    verifier = make_verifier(discovery_url=DISCOVERY_URL)
    with pytest.raises(JWKSUnavailable):
        await verifier.verify(sign(signing_key))
    assert evil.call_count == 0


# -- the synchronous entry point ---------------------------------------------------------


def test_verify_sync_uses_the_same_cache_rules(
    router: respx.MockRouter, signing_key: PrivateKey, fake_clock: FakeClock
) -> None:
    route = router.get(JWKS_URL).mock(return_value=jwks_response(signing_key, max_age=120))
    verifier = Verifier(ISSUER, AUDIENCE, JWKS_URL, clock=fake_clock)
    try:
        assert verifier.verify_sync(good_token(signing_key, fake_clock)).sid == claims()["sid"]
        fake_clock.advance(100)
        verifier.verify_sync(good_token(signing_key, fake_clock))
        assert route.call_count == 1
        with pytest.raises(InvalidToken):
            verifier.verify_sync(good_token(make_key("ES256", "nope"), fake_clock))
        assert route.call_count == 2
        route.mock(side_effect=httpx.ConnectError("down"))
        fake_clock.advance(30)
        verifier.verify_sync(good_token(signing_key, fake_clock))  # stale window
    finally:
        verifier.close()


def test_verify_sync_threads_share_one_fetch(
    router: respx.MockRouter, signing_key: PrivateKey, fake_clock: FakeClock
) -> None:
    import threading
    import time

    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.05)
        return jwks_response(signing_key)

    route = router.get(JWKS_URL).mock(side_effect=slow)
    verifier = Verifier(ISSUER, AUDIENCE, JWKS_URL, clock=fake_clock)
    token = good_token(signing_key, fake_clock)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            verifier.verify_sync(token)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verifier.close()
    assert errors == []
    assert route.call_count == 1
