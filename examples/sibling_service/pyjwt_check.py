"""The check `identity.verifier` makes, with plain PyJWT (shown in README.md)."""

import jwt  # PyJWT >= 2.8, with its "crypto" extra

ISSUER = "https://identity.example"
AUDIENCE = "robot-overlord"
ALGORITHMS = ["ES256"]  # the allow-list: never take the algorithm from the token alone

# Caches the key set for `lifespan` seconds and refetches once on an unknown kid.
jwks_client = jwt.PyJWKClient(f"{ISSUER}/.well-known/jwks.json", lifespan=300)


def verify(token: str, jwks_client: jwt.PyJWKClient = jwks_client) -> dict[str, object]:
    header = jwt.get_unverified_header(token)
    # RFC 9068 §4: only access tokens, and no header that picks its own key (jwk, jku, x5u...).
    if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
        raise jwt.InvalidTokenError("not an access token")
    if set(header) - {"alg", "typ", "kid"}:
        raise jwt.InvalidTokenError("unexpected header parameters")
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    claims: dict[str, object] = jwt.decode(
        token,
        signing_key,
        algorithms=ALGORITHMS,
        audience=AUDIENCE,
        issuer=ISSUER,
        leeway=30,
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti", "sid"]},
    )
    return claims
