"""Tokens: our HS256 JWTs (chalicelib.auth.tokens), the OIDC provider and its JWKS cache, the secret rules."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from chalicelib.auth.providers import JwksCache, LocalProvider, OidcProvider
from chalicelib.auth.tokens import LocalTokens
from chalicelib.errors import IdentityProviderUnavailable, InvalidToken, TokenExpired
from chalicelib.settings import Settings, SettingsError
from tests.fakes import Clock, FakeJwks

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"
ISSUER = "https://idp.example.test/pool"
AUDIENCE = "client-123"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A JWT signed by hand (HS256 with any bytes as key, or unsigned): what an attacker can build."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest()) if key is not None else ""
    return f"{signing_input}.{signature}"


def local(clock: float | None = None) -> LocalTokens:
    if clock is None:
        return LocalTokens(SECRET, issuer="chitram", audience="chitram-api", ttl_seconds=3600)
    return LocalTokens(SECRET, issuer="chitram", audience="chitram-api", ttl_seconds=3600, clock=lambda: clock)


# --- local tokens --------------------------------------------------------------------------------


def test_local_token_round_trips_with_required_claims() -> None:
    issued = local().issue("user-1")
    claims = local().verify(issued.access_token)
    assert claims["sub"] == "user-1"
    assert claims["iss"] == "chitram"
    assert claims["aud"] == "chitram-api"
    assert claims["exp"] - claims["iat"] == 3600
    assert issued.token_type == "bearer"
    assert jwt.get_unverified_header(issued.access_token)["alg"] == "HS256"


def test_default_token_lifetime_is_24_hours() -> None:
    assert Settings().jwt_ttl_seconds == 24 * 3600


def test_expired_local_token_is_token_expired() -> None:
    token = local(clock=1_000_000).issue("user-1").access_token
    with pytest.raises(TokenExpired) as caught:
        local().verify(token)
    assert caught.value.status == 401
    assert caught.value.headers() == {"WWW-Authenticate": "Bearer"}


def claims(**overrides: Any) -> dict[str, Any]:
    import time

    now = int(time.time())
    # Built at collection time (parametrize), so the expiry must outlast a slow run: these tokens must fail for
    # the reason under test (issuer, audience, key, algorithm), never merely for having expired meanwhile.
    return {
        "sub": "user-1",
        "iat": now,
        "exp": now + 30 * 24 * 3600,
        "iss": "chitram",
        "aud": "chitram-api",
        **overrides,
    }


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(forge({"alg": "none", "typ": "JWT"}, claims(), None), id="alg-none"),
        pytest.param(forge({"alg": "HS256", "typ": "JWT"}, claims(iss="someone-else"), SECRET.encode()), id="iss"),
        pytest.param(forge({"alg": "HS256", "typ": "JWT"}, claims(aud="other-api"), SECRET.encode()), id="aud"),
        pytest.param(
            forge({"alg": "HS256", "typ": "JWT"}, claims(), b"another-secret-that-is-also-long-enough"), id="secret"
        ),
        pytest.param(forge({"alg": "HS512", "typ": "JWT"}, claims(), SECRET.encode()), id="other-alg"),
        pytest.param("not.a.jwt", id="garbage"),
        pytest.param("", id="empty"),
    ],
)
def test_local_tokens_refuse_forgeries(token: str) -> None:
    with pytest.raises(InvalidToken):
        local().verify(token)


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "iss", "aud"])
def test_local_tokens_require_every_claim(missing: str) -> None:
    body = claims()
    del body[missing]
    with pytest.raises(InvalidToken):
        local().verify(jwt.encode(body, SECRET, algorithm="HS256"))


def test_tampered_payload_is_invalid() -> None:
    header, _, signature = local().issue("user-1").access_token.split(".")
    tampered = f"{header}.{b64(json.dumps(claims(sub='admin')).encode())}.{signature}"
    with pytest.raises(InvalidToken):
        local().verify(tampered)


def test_local_provider_names_the_subject() -> None:
    principal = LocalProvider(local()).authenticate(local().issue("user-9").access_token)
    assert (principal.user_id, principal.provider) == ("user-9", "local")


# --- OIDC ------------------------------------------------------------------------------------------


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**entry, "kid": kid, "use": "sig", "alg": "RS256"}


def oidc_claims(**overrides: Any) -> dict[str, Any]:
    import time

    now = int(time.time())
    base = {"sub": "abc-123", "iat": now, "exp": now + 600, "iss": ISSUER, "aud": AUDIENCE, "token_use": "id"}
    return {**base, **overrides}


def rs256(key: rsa.RSAPrivateKey, kid: str, **overrides: Any) -> str:
    return jwt.encode(oidc_claims(**overrides), key, algorithm="RS256", headers={"kid": kid})


def provider(jwks: FakeJwks, clock: Clock | None = None, min_refresh: float = 60) -> OidcProvider:
    cache = JwksCache(
        "https://idp.example.test/jwks", fetch=jwks, clock=clock or Clock(), min_refresh_seconds=min_refresh
    )
    return OidcProvider(issuer=ISSUER, audience=AUDIENCE, jwks=cache)


def test_oidc_accepts_an_id_token_and_prefixes_the_subject() -> None:
    key = new_key()
    principal = provider(FakeJwks(jwk(key, "k1"))).authenticate(rs256(key, "k1", email="A@example.com"))
    assert principal.user_id == "oidc:abc-123"
    assert principal.provider == "oidc"
    assert principal.email == "A@example.com"


def test_oidc_accepts_a_cognito_access_token_by_client_id() -> None:
    key = new_key()
    token = jwt.encode(
        {**{k: v for k, v in oidc_claims().items() if k != "aud"}, "token_use": "access", "client_id": AUDIENCE},
        key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    assert provider(FakeJwks(jwk(key, "k1"))).authenticate(token).user_id == "oidc:abc-123"


def test_oidc_refuses_an_access_token_for_another_client() -> None:
    key = new_key()
    body = {k: v for k, v in oidc_claims().items() if k != "aud"}
    token = jwt.encode(
        {**body, "token_use": "access", "client_id": "other"}, key, algorithm="RS256", headers={"kid": "k1"}
    )
    with pytest.raises(InvalidToken):
        provider(FakeJwks(jwk(key, "k1"))).authenticate(token)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"iss": "https://evil.example.test/pool"}, id="wrong-iss"),
        pytest.param({"aud": "someone-else"}, id="wrong-aud"),
        pytest.param({"token_use": "refresh"}, id="wrong-token-use"),
    ],
)
def test_oidc_refuses_tokens_not_for_us(overrides: dict[str, Any]) -> None:
    key = new_key()
    with pytest.raises(InvalidToken):
        provider(FakeJwks(jwk(key, "k1"))).authenticate(rs256(key, "k1", **overrides))


def test_oidc_expired_token_is_token_expired() -> None:
    key = new_key()
    with pytest.raises(TokenExpired):
        provider(FakeJwks(jwk(key, "k1"))).authenticate(rs256(key, "k1", iat=1_000_000, exp=1_000_600))


def test_oidc_refuses_hs256_signed_with_the_public_key() -> None:
    """Algorithm confusion: the public key is public, so an HMAC 'signed' with it proves nothing."""
    key = new_key()
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    forged = forge({"alg": "HS256", "typ": "JWT", "kid": "k1"}, oidc_claims(), pem)
    jwks = FakeJwks(jwk(key, "k1"))
    with pytest.raises(InvalidToken):
        provider(jwks).authenticate(forged)
    assert jwks.fetches == 0  # refused before any key was even looked up


def test_oidc_refuses_alg_none() -> None:
    key = new_key()
    with pytest.raises(InvalidToken):
        provider(FakeJwks(jwk(key, "k1"))).authenticate(forge({"alg": "none", "kid": "k1"}, oidc_claims(), None))


def test_oidc_refuses_a_token_signed_by_an_unlisted_key_with_a_listed_kid() -> None:
    listed, attacker = new_key(), new_key()
    with pytest.raises(InvalidToken):
        provider(FakeJwks(jwk(listed, "k1"))).authenticate(rs256(attacker, "k1"))


def test_unknown_kid_refreshes_once_then_accepts_the_rotated_in_key() -> None:
    old, new = new_key(), new_key()
    jwks, clock = FakeJwks(jwk(old, "old")), Clock()
    oidc = provider(jwks, clock)
    assert oidc.authenticate(rs256(old, "old")).user_id == "oidc:abc-123"
    jwks.document = {"keys": [jwk(new, "new")]}
    clock.now += 61
    assert oidc.authenticate(rs256(new, "new")).user_id == "oidc:abc-123"
    assert jwks.fetches == 2


def test_token_is_refused_after_its_key_is_rotated_out() -> None:
    old, new = new_key(), new_key()
    jwks, clock = FakeJwks(jwk(old, "old")), Clock()
    oidc = provider(jwks, clock)
    token = rs256(old, "old")
    oidc.authenticate(token)
    jwks.document = {"keys": [jwk(new, "new")]}
    clock.now += 3601  # the cached set is now stale: the next lookup refreshes it and "old" is gone
    with pytest.raises(InvalidToken):
        oidc.authenticate(token)


def test_junk_kids_cannot_hammer_the_jwks_endpoint() -> None:
    key = new_key()
    jwks, clock = FakeJwks(jwk(key, "k1")), Clock()
    oidc = provider(jwks, clock, min_refresh=60)
    for n in range(50):
        with pytest.raises(InvalidToken):
            oidc.authenticate(rs256(key, f"junk-{n}"))
    assert jwks.fetches == 1
    clock.now += 60
    with pytest.raises(InvalidToken):
        oidc.authenticate(rs256(key, "junk-again"))
    assert jwks.fetches == 2


def test_jwks_outage_keeps_cached_keys_and_refuses_unknown_ones() -> None:
    key = new_key()
    jwks, clock = FakeJwks(jwk(key, "k1")), Clock()
    oidc = provider(jwks, clock)
    token = rs256(key, "k1")
    oidc.authenticate(token)
    jwks.down = True
    clock.now += 4000  # stale: a refresh is attempted, fails, and the cached key still serves
    assert oidc.authenticate(token).user_id == "oidc:abc-123"


def test_jwks_outage_with_nothing_cached_is_503() -> None:
    key = new_key()
    jwks = FakeJwks(jwk(key, "k1"))
    jwks.down = True
    with pytest.raises(IdentityProviderUnavailable) as caught:
        provider(jwks).authenticate(rs256(key, "k1"))
    assert caught.value.status == 503


def test_jwks_skips_non_signing_and_non_rsa_keys() -> None:
    key = new_key()
    encryption_key = {**jwk(key, "enc"), "use": "enc"}
    jwks = FakeJwks(encryption_key, {"kty": "EC", "kid": "ec"}, jwk(key, "k1"))
    oidc = provider(jwks)
    with pytest.raises(InvalidToken):
        oidc.authenticate(rs256(key, "enc"))
    assert oidc.authenticate(rs256(key, "k1")).user_id == "oidc:abc-123"


# --- the secret ------------------------------------------------------------------------------------

DEPLOYED = {
    "STAGE": "prod",
    "MAILER": "ses",
    "MAIL_FROM": "noreply@example.com",
    "REDIS_NODES": "redis://10.0.0.1:6379",
}


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("", id="empty"),
        pytest.param("local-development-secret-not-for-deployment", id="the-local-default"),
        pytest.param("short-secret", id="short"),
    ],
)
def test_deployed_stage_refuses_a_weak_jwt_secret(secret: str) -> None:
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        Settings.from_env({**DEPLOYED, "JWT_SECRET": secret})


def test_deployed_stage_starts_with_a_long_secret_and_masks_it() -> None:
    settings = Settings.from_env({**DEPLOYED, "JWT_SECRET": "x" * 40})
    assert "x" * 40 not in repr(settings)


def test_local_stage_without_a_secret_gets_a_random_one() -> None:
    first = Settings.from_env({"STAGE": "local"}).jwt_secret
    second = Settings.from_env({"STAGE": "local"}).jwt_secret
    assert len(first) >= 32
    assert first != second


def test_oidc_needs_issuer_jwks_url_and_audience() -> None:
    with pytest.raises(SettingsError, match="OIDC_AUDIENCE"):
        Settings.from_env({"AUTH_PROVIDER": "oidc", "OIDC_ISSUER": ISSUER, "OIDC_JWKS_URL": "http://x/jwks"})


def test_jwks_outage_at_cold_start_stays_503_while_refreshes_are_throttled() -> None:
    key = new_key()
    jwks, clock = FakeJwks(jwk(key, "k1")), Clock()
    jwks.down = True
    oidc = provider(jwks, clock, min_refresh=60)
    for _ in range(5):  # not 401: that would sign every user out for the length of the throttle
        with pytest.raises(IdentityProviderUnavailable):
            oidc.authenticate(rs256(key, "k1"))
    assert jwks.fetches == 1
    jwks.down = False
    clock.now += 60
    assert oidc.authenticate(rs256(key, "k1")).user_id == "oidc:abc-123"


def test_jwks_outage_answers_503_for_a_kid_it_cannot_check_and_serves_the_ones_it_holds() -> None:
    key, rotated_in = new_key(), new_key()
    jwks, clock = FakeJwks(jwk(key, "k1")), Clock()
    oidc = provider(jwks, clock)
    oidc.authenticate(rs256(key, "k1"))
    jwks.down = True
    clock.now += 61
    with pytest.raises(IdentityProviderUnavailable):
        oidc.authenticate(rs256(rotated_in, "k2"))
    assert oidc.authenticate(rs256(key, "k1")).user_id == "oidc:abc-123"


def test_a_recovered_provider_refuses_unknown_kids_as_invalid_again() -> None:
    key = new_key()
    jwks, clock = FakeJwks(jwk(key, "k1")), Clock()
    jwks.down = True
    oidc = provider(jwks, clock)
    with pytest.raises(IdentityProviderUnavailable):
        oidc.authenticate(rs256(key, "k1"))
    jwks.down = False
    clock.now += 60
    with pytest.raises(InvalidToken):
        oidc.authenticate(rs256(key, "junk"))


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param({"alg": "RS512"}, id="another-algorithm"),
        pytest.param({"n": "not-base64url!"}, id="unparseable-modulus"),
        pytest.param({"kty": "oct", "k": "c2VjcmV0"}, id="symmetric"),
    ],
)
def test_jwks_keys_that_cannot_verify_rs256_are_left_out_and_the_rest_kept(entry: dict[str, Any]) -> None:
    key = new_key()
    jwks = FakeJwks({**jwk(key, "odd"), **entry}, jwk(key, "k1"))
    oidc = provider(jwks)
    with pytest.raises(InvalidToken):
        oidc.authenticate(rs256(key, "odd"))
    assert oidc.authenticate(rs256(key, "k1")).user_id == "oidc:abc-123"


def test_a_jwks_document_without_usable_keys_refuses_tokens_as_invalid() -> None:
    key = new_key()
    oidc = provider(FakeJwks({"kty": "EC", "kid": "ec"}))
    with pytest.raises(InvalidToken):
        oidc.authenticate(rs256(key, "ec"))
