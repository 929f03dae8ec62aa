"""The OIDC provider against moto's Cognito user pool: real ID and access tokens, a real JWKS fetch.

moto signs every token with one key (kid ``dummy``) and names the real AWS issuer
(``https://cognito-idp.{region}.amazonaws.com/{pool}``); in-process there is no server to fetch its JWKS from,
so a small HTTP server on loopback serves moto's own public key set (``moto/cognitoidp/resources``). That keeps
the provider's real fetch path (urllib, size and time bounds) under test, and lets a test rotate the key out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import jwt
import pytest
from chalice.test import Client
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.algorithms import RSAAlgorithm
from moto.utilities.utils import load_resource

from chalicelib import composition
from chalicelib.auth.providers import OidcProvider
from tests.conftest import make_png
from tests.functional.conftest import body

REGION = "us-east-1"


class JwksServer:
    """Serves one JWKS document at any path; the document can be swapped (key rotation)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                payload = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@dataclass
class Pool:
    pool_id: str
    client_id: str
    jwks: JwksServer

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"


def cognito_client() -> Any:
    return boto3.client("cognito-idp", region_name=REGION)


def make_pool(name: str) -> tuple[str, str]:
    idp = cognito_client()
    pool_id = idp.create_user_pool(PoolName=name)["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"{name}-web",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"],
        ReadAttributes=["email"],  # so the ID token carries the address
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def sign_in(pool_id: str, client_id: str, username: str = "ada", email: str = "ada@example.com") -> dict[str, str]:
    """ID and access tokens for a (new) user of the pool, via ADMIN_USER_PASSWORD_AUTH."""
    idp = cognito_client()
    password = "Sup3r-secret-pw!"
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        UserAttributes=[{"Name": "email", "Value": email}],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    result = idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )["AuthenticationResult"]
    return {"id": result["IdToken"], "access": result["AccessToken"]}


@pytest.fixture
def pool(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pool]:
    pool_id, client_id = make_pool("chitram")
    with JwksServer(load_resource("cognitoidp/resources/jwks-public.json")) as server:
        monkeypatch.setenv("AUTH_PROVIDER", "oidc")
        monkeypatch.setenv("OIDC_ISSUER", f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}")
        monkeypatch.setenv("OIDC_AUDIENCE", client_id)
        monkeypatch.setenv("OIDC_JWKS_URL", f"{server.base_url}/{pool_id}/.well-known/jwks.json")
        composition.reset()
        yield Pool(pool_id, client_id, server)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def me(client: Client, token: str) -> Any:
    return client.http.get("/api/v1/auth/me", headers=bearer(token))


INVALID = {"detail": {"code": "INVALID_TOKEN", "message": "The access token is not valid.", "details": {}}}


@pytest.mark.parametrize("kind", ["id", "access"])
def test_cognito_tokens_sign_in_as_a_prefixed_oidc_user(client: Client, pool: Pool, kind: str) -> None:
    tokens = sign_in(pool.pool_id, pool.client_id)
    sub = jwt.decode(tokens["id"], options={"verify_signature": False})["sub"]
    response = me(client, tokens[kind])
    assert response.status_code == 200, response.body
    profile = body(response)
    assert profile["id"] == f"oidc:{sub}"
    assert profile["provider"] == "oidc"
    if kind == "id":
        assert profile["email"] == "ada@example.com"


def test_oidc_user_owns_uploads_and_counts_against_a_quota(client: Client, pool: Pool) -> None:
    token = sign_in(pool.pool_id, pool.client_id)["id"]
    boundary = uuid.uuid4().hex
    form = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'.encode()
        + make_png()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    uploaded = client.http.post(
        "/api/v1/images/upload",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", **bearer(token)},
        body=form,
    )
    assert uploaded.status_code == 201
    assert body(uploaded)["delete_token"] is None
    mine = body(client.http.get("/api/v1/users/me/images", headers=bearer(token)))
    assert [item["id"] for item in mine["items"]] == [body(uploaded)["id"]]
    assert body(me(client, token))["usage"]["image_count"] == 1
    assert client.http.delete(f"/api/v1/images/{body(uploaded)['id']}", headers=bearer(token)).status_code == 204


def test_token_is_refused_after_its_key_is_rotated_out(client: Client, pool: Pool) -> None:
    token = sign_in(pool.pool_id, pool.client_id)["id"]
    assert me(client, token).status_code == 200
    fetches = pool.jwks.requests
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pool.jwks.document = {
        "keys": [{**json.loads(RSAAlgorithm.to_jwk(new_key.public_key())), "kid": "rotated", "alg": "RS256"}]
    }
    # Let the cached key set age past its lifetime: the next request refetches and finds "dummy" gone.
    provider = composition.auth_provider()
    assert isinstance(provider, OidcProvider)
    started = provider.jwks.clock()
    provider.jwks.clock = lambda: started + provider.jwks.max_age_seconds + 1
    refused = me(client, token)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert body(refused) == {
        "detail": {
            "code": "INVALID_TOKEN",
            "message": "The access token is not valid.",
            "details": {"reason": "unknown signing key"},
        }
    }
    assert pool.jwks.requests == fetches + 1


def test_unknown_kids_refresh_the_key_set_at_most_once_a_minute(client: Client, pool: Pool) -> None:
    token = sign_in(pool.pool_id, pool.client_id)["id"]
    claims = jwt.decode(token, options={"verify_signature": False})
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    me(client, token)
    fetched = pool.jwks.requests
    for n in range(10):
        junk = jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": f"junk-{n}"})
        assert me(client, junk).status_code == 401
    assert pool.jwks.requests == fetched


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_hs256_signed_with_the_pools_public_key_is_refused(client: Client, pool: Pool) -> None:
    """Algorithm confusion: anyone can download the public key; an HMAC made with it proves nothing."""
    token = sign_in(pool.pool_id, pool.client_id)["id"]
    claims = jwt.decode(token, options={"verify_signature": False})
    public_jwk = load_resource("cognitoidp/resources/jwks-public.json")["keys"][0]
    public_key = RSAAlgorithm.from_jwk(json.dumps(public_jwk))
    assert isinstance(public_key, rsa.RSAPublicKey)
    pem = public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': 'dummy'}).encode())}.{b64(json.dumps(claims).encode())}"
    forged = f"{signing_input}.{b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"
    response = me(client, forged)
    assert response.status_code == 401
    assert body(response)["detail"]["code"] == "INVALID_TOKEN"


def test_alg_none_with_real_cognito_claims_is_refused(client: Client, pool: Pool) -> None:
    claims = jwt.decode(sign_in(pool.pool_id, pool.client_id)["id"], options={"verify_signature": False})
    forged = f"{b64(json.dumps({'alg': 'none', 'kid': 'dummy'}).encode())}.{b64(json.dumps(claims).encode())}."
    response = me(client, forged)
    assert response.status_code == 401
    assert body(response)["detail"]["code"] == "INVALID_TOKEN"


def test_tokens_for_another_app_client_are_refused(client: Client, pool: Pool) -> None:
    other_client = cognito_client().create_user_pool_client(
        UserPoolId=pool.pool_id, ClientName="someone-elses-app", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    tokens = sign_in(pool.pool_id, other_client)
    for token in tokens.values():
        response = me(client, token)
        assert response.status_code == 401
        assert body(response)["detail"]["code"] == "INVALID_TOKEN"


def test_tokens_from_another_pool_are_refused(client: Client, pool: Pool) -> None:
    other_pool, other_client = make_pool("elsewhere")
    token = sign_in(other_pool, other_client)["id"]  # same moto signing key, different issuer
    assert body(me(client, token)) == INVALID


def test_local_tokens_mean_nothing_to_the_oidc_provider(client: Client, pool: Pool) -> None:
    local = composition.local_tokens().issue("someone").access_token
    assert me(client, local).status_code == 401
