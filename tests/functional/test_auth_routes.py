"""Account routes in-process (chalice.test.Client, moto): register, login, token, me, throttling, reset, 401s."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from chalice.local import LambdaEventConverter
from chalice.test import Client

from chalicelib import composition
from chalicelib.auth.mailer import MemoryOutbox
from scripts.redis_servers import RedisProcess, redis_servers
from tests.functional.conftest import body

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PASSWORD = "correct horse battery"


def post(client: Client, path: str, payload: Any, headers: dict[str, str] | None = None) -> Any:
    return client.http.post(path, headers={**JSON, **(headers or {})}, body=json.dumps(payload))


def register(client: Client, email: str = "ada@example.com", password: str = PASSWORD) -> dict[str, Any]:
    response = post(client, "/api/v1/auth/register", {"email": email, "password": password})
    assert response.status_code == 201, response.body
    return dict(body(response))


def login(client: Client, email: str = "ada@example.com", password: str = PASSWORD) -> Any:
    return post(client, "/api/v1/auth/login", {"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"detail": {"code": code, "message": message, "details": details or {}}}


# --- register / login / token / me ----------------------------------------------------------------


def test_register_answers_201_with_user_and_bearer_token(client: Client) -> None:
    created = register(client, email="  Ada@Example.COM ")
    assert created["token_type"] == "bearer"
    assert created["expires_in"] == 24 * 3600
    assert created["user"]["email"] == "ada@example.com"
    assert set(created["user"]) == {"id", "email", "created_at", "provider"}
    claims = jwt.decode(created["access_token"], options={"verify_signature": False})
    assert claims["sub"] == created["user"]["id"]
    assert {"sub", "exp", "iat", "iss", "aud"} <= set(claims)


def test_register_refuses_a_taken_email_whatever_its_case(client: Client) -> None:
    register(client)
    response = post(client, "/api/v1/auth/register", {"email": "ADA@example.com", "password": PASSWORD})
    assert response.status_code == 409
    assert body(response) == envelope(
        "EMAIL_ALREADY_REGISTERED", "That email is already registered.", {"email": "ada@example.com"}
    )


@pytest.mark.parametrize(
    ("payload", "details"),
    [
        ({"email": "ada@example.com", "password": "short"}, {"field": "password", "reason": "too_short"}),
        ({"email": "ada@example.com", "password": "x" * 73}, {"field": "password", "reason": "too_long"}),
        ({"email": "ada@example.com"}, {"field": "password"}),
        ({"email": "not-an-address", "password": PASSWORD}, {"field": "email"}),
    ],
)
def test_register_explains_validation_errors(client: Client, payload: dict[str, Any], details: dict[str, Any]) -> None:
    response = post(client, "/api/v1/auth/register", payload)
    assert response.status_code == 400
    detail = body(response)["detail"]
    assert detail["code"] == "VALIDATION_ERROR"
    assert details.items() <= detail["details"].items()
    if details["field"] == "password":
        assert detail["details"]["min_length"] == 8
        assert detail["details"]["max_bytes"] == 72


def test_login_with_json_and_me(client: Client) -> None:
    created = register(client)
    response = login(client, email="ADA@example.com")
    assert response.status_code == 200
    signed_in = body(response)
    assert signed_in["user"] == created["user"]
    me = client.http.get("/api/v1/auth/me", headers=bearer(signed_in["access_token"]))
    assert me.status_code == 200
    assert body(me) == {
        "id": created["user"]["id"],
        "email": "ada@example.com",
        "provider": "local",
        "created_at": created["user"]["created_at"],
        "usage": {"image_count": 0, "bytes_used": 0},
        "quota": {"max_images": 1000, "max_bytes": 1024**3},
    }


def test_token_endpoint_takes_the_oauth2_password_form(client: Client) -> None:
    created = register(client)
    response = client.http.post(
        "/api/v1/auth/token",
        headers=FORM,
        body="grant_type=password&username=ada%40example.com&password=" + "correct+horse+battery",
    )
    assert response.status_code == 200
    issued = body(response)
    assert set(issued) == {"access_token", "token_type", "expires_in"}
    assert issued["token_type"] == "bearer"
    me = client.http.get("/api/v1/auth/me", headers=bearer(issued["access_token"]))
    assert body(me)["id"] == created["user"]["id"]


def test_me_without_a_token_is_401_authentication_required(client: Client) -> None:
    response = client.http.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert body(response) == envelope("AUTHENTICATION_REQUIRED", "Authentication is required.")


def test_unknown_email_and_wrong_password_get_identical_answers(client: Client) -> None:
    register(client)
    wrong_password = login(client, password="not the password")
    unknown_email = login(client, email="nobody@example.com")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.body == unknown_email.body
    assert body(wrong_password) == envelope("INVALID_CREDENTIALS", "Incorrect email or password.")
    per_request = {"X-Request-Id"}
    assert {k: v for k, v in wrong_password.headers.items() if k not in per_request} == {
        k: v for k, v in unknown_email.headers.items() if k not in per_request
    }


def from_source(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    """Make every following request come from ``address`` (chalice local reports one fixed source)."""
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)


def test_sign_in_abuse_slows_the_abusing_source_down_not_the_owner(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger's failures grow the stranger's waits; the owner, from elsewhere, signs in at once."""
    register(client)
    from_source(monkeypatch, "198.51.100.66")
    for _ in range(5):
        assert body(login(client, password="wrong password!"))["detail"]["code"] == "INVALID_CREDENTIALS"
    waits = []
    for _ in range(3):
        # Each failure past the free ones doubles the wait; step past it as a patient attacker would.
        throttled = login(client, password="wrong password!")
        if throttled.status_code == 401:
            continue
        assert throttled.status_code == 429
        assert body(throttled)["detail"]["code"] == "RATE_LIMIT_EXCEEDED"
        waits.append(int(throttled.headers["Retry-After"]))
        later = composition.user_service().clock() + waits[-1]
        monkeypatch.setattr(composition.user_service(), "clock", lambda later=later: later)
        assert login(client, password="wrong password!").status_code == 401
    assert len(waits) == 3
    assert waits[0] >= 1
    assert waits[0] < waits[1] < waits[2]  # growing
    # Even the right password waits its turn from the abusing source (no bcrypt work, no answer) ...
    assert login(client).status_code == 429
    # ... while the owner, from their own address, is let straight in.
    from_source(monkeypatch, "203.0.113.7")
    assert login(client).status_code == 200


def test_sign_in_waits_are_capped_so_nobody_is_locked_out(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    register(client)
    service = composition.user_service()
    cap = service.settings.lockout_seconds
    now = service.clock()
    for _ in range(40):  # far past the point where 2**n exceeds the cap
        monkeypatch.setattr(service, "clock", lambda now=now: now)
        response = login(client, password="wrong password!")
        retry_after = int(response.headers.get("Retry-After", "0"))
        assert retry_after <= cap
        now += retry_after + 1
    # However many failures came before, the right password works once the (capped) wait is over.
    monkeypatch.setattr(service, "clock", lambda: now + cap)
    assert login(client).status_code == 200


def test_sign_in_throttling_answers_known_and_unknown_addresses_alike(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No 403/429 oracle: the nth failure gets the same status, body and headers for either kind of address."""
    register(client, email="known@example.com")
    service = composition.user_service()
    frozen = service.clock()
    monkeypatch.setattr(service, "clock", lambda: frozen)  # so both runs see the same waits to the second
    answers: dict[str, list[tuple[int, Any, str | None]]] = {}
    for email in ("known@example.com", "unknown@example.com"):
        answers[email] = []
        for _ in range(8):
            response = login(client, email=email, password="wrong password!")
            answers[email].append((response.status_code, body(response), response.headers.get("Retry-After")))
    assert answers["known@example.com"] == answers["unknown@example.com"]
    assert {status for status, _, _ in answers["known@example.com"]} == {401, 429}


def test_a_successful_login_resets_the_failure_count(client: Client) -> None:
    register(client)
    for _ in range(4):
        login(client, password="wrong password!")
    assert login(client).status_code == 200
    for _ in range(4):
        login(client, password="wrong password!")
    assert login(client).status_code == 200


# --- rate limits (real redis-server) -------------------------------------------------------------


@pytest.fixture
def redis_node(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisProcess]:
    with redis_servers(1) as servers:
        monkeypatch.setenv("REDIS_NODES", servers[0].url)
        composition.reset()
        yield servers[0]


def test_login_is_limited_per_source_address(
    redis_node: RedisProcess, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT_LOGIN_PER_IP", "3")
    composition.reset()
    from_source(monkeypatch, "203.0.113.10")
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        assert login(client, email=email).status_code == 401
    limited = login(client, email="d@example.com")
    assert limited.status_code == 429
    assert body(limited)["detail"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert body(limited)["detail"]["details"]["scope"] == "login-ip"
    assert limited.headers["Retry-After"]
    from_source(monkeypatch, "203.0.113.11")
    assert login(client, email="a@example.com").status_code == 401


def test_sign_in_throttling_holds_when_redis_is_down(
    redis_node: RedisProcess, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(client)
    redis_node.kill()
    from_source(monkeypatch, "198.51.100.66")
    for _ in range(5):
        assert login(client, password="wrong password!").status_code == 401
    statuses = {login(client, password="wrong password!").status_code for _ in range(3)}
    assert 429 in statuses


# --- password reset --------------------------------------------------------------------------------


def outbox() -> MemoryOutbox:
    mailer = composition.mailer()
    assert isinstance(mailer, MemoryOutbox)
    return mailer


def test_password_reset_is_202_for_known_and_unknown_addresses_alike(client: Client) -> None:
    register(client)
    known = post(client, "/api/v1/auth/password-reset", {"email": "ADA@example.com"})
    unknown = post(client, "/api/v1/auth/password-reset", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.body == unknown.body
    assert [message.to for message in outbox().sent] == ["ada@example.com"]


def test_password_reset_token_works_once_whatever_strangers_tried(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(client)
    from_source(monkeypatch, "198.51.100.66")
    for _ in range(6):
        login(client, password="wrong password!")
    from_source(monkeypatch, "203.0.113.7")
    post(client, "/api/v1/auth/password-reset", {"email": "ada@example.com"})
    message = outbox().sent[-1]
    token = (message.data or {})["token"]
    assert token in message.body
    assert re.search(r"https?://\S+#token=\S+", message.body)
    confirm = {"token": token, "new_password": "a brand new password"}
    assert post(client, "/api/v1/auth/password-reset/confirm", confirm).status_code == 200
    assert login(client, password="a brand new password").status_code == 200
    assert login(client).status_code == 401  # the old password is gone
    again = post(client, "/api/v1/auth/password-reset/confirm", {**confirm, "new_password": "yet another one"})
    assert again.status_code == 400
    assert body(again) == envelope("INVALID_RESET_TOKEN", "The password reset token is not valid or has expired.")


def test_a_password_reset_signs_out_every_earlier_token(client: Client) -> None:
    old = register(client)["access_token"]
    assert client.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old}"}).status_code == 200
    post(client, "/api/v1/auth/password-reset", {"email": "ada@example.com"})
    token = (outbox().sent[-1].data or {})["token"]
    post(client, "/api/v1/auth/password-reset/confirm", {"token": token, "new_password": "a brand new password"})
    refused = client.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old}"})
    assert refused.status_code == 401
    assert body(refused)["detail"]["code"] == "INVALID_TOKEN"
    fresh = body(login(client, password="a brand new password"))["access_token"]
    assert client.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_only_the_newest_reset_token_is_valid(client: Client) -> None:
    register(client)
    post(client, "/api/v1/auth/password-reset", {"email": "ada@example.com"})
    post(client, "/api/v1/auth/password-reset", {"email": "ada@example.com"})
    first, second = ((m.data or {})["token"] for m in outbox().sent)
    refused = post(client, "/api/v1/auth/password-reset/confirm", {"token": first, "new_password": "new password 1"})
    assert body(refused)["detail"]["code"] == "INVALID_RESET_TOKEN"
    accepted = post(client, "/api/v1/auth/password-reset/confirm", {"token": second, "new_password": "new password 2"})
    assert accepted.status_code == 200


def test_expired_reset_token_is_refused(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    register(client)
    service = composition.user_service()
    post(client, "/api/v1/auth/password-reset", {"email": "ada@example.com"})
    token = (outbox().sent[-1].data or {})["token"]
    later = service.clock() + service.settings.password_reset_ttl_seconds + 1
    monkeypatch.setattr(service, "clock", lambda: later)
    response = post(client, "/api/v1/auth/password-reset/confirm", {"token": token, "new_password": "new password 1"})
    assert body(response)["detail"]["code"] == "INVALID_RESET_TOKEN"


@pytest.mark.parametrize("token", ["", "no-dot", "abc.def", None])
def test_made_up_reset_tokens_are_refused(client: Client, token: object) -> None:
    response = post(client, "/api/v1/auth/password-reset/confirm", {"token": token, "new_password": "new password 1"})
    assert response.status_code == 400
    assert body(response)["detail"]["code"] == "INVALID_RESET_TOKEN"


def test_reset_confirm_checks_the_password_policy(client: Client) -> None:
    response = post(client, "/api/v1/auth/password-reset/confirm", {"token": "a.b", "new_password": "short"})
    assert body(response)["detail"]["details"]["field"] == "new_password"


# --- bearer tokens that prove nothing ------------------------------------------------------------


def forged_tokens() -> dict[str, str]:
    """Tokens an attacker can make without our secret (plus expired and other-issuer ones made with it)."""
    import base64
    import time

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"sub": "someone", "iat": now, "exp": now + 600, "iss": "chitram", "aud": "chitram-api"}
    secret = str(composition.local_tokens()._secret)
    good = jwt.encode(claims, secret, algorithm="HS256")
    header, _, signature = good.split(".")
    return {
        "alg-none": f"{b64(json.dumps({'alg': 'none'}).encode())}.{b64(json.dumps(claims).encode())}.",
        "other-secret": jwt.encode(claims, "an entirely different secret of decent length", algorithm="HS256"),
        "expired": jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, secret, algorithm="HS256"),
        "wrong-iss": jwt.encode({**claims, "iss": "elsewhere"}, secret, algorithm="HS256"),
        "wrong-aud": jwt.encode({**claims, "aud": "another-api"}, secret, algorithm="HS256"),
        "tampered": f"{header}.{b64(json.dumps({**claims, 'sub': 'admin'}).encode())}.{signature}",
    }


@pytest.mark.parametrize("kind", ["alg-none", "other-secret", "expired", "wrong-iss", "wrong-aud", "tampered"])
def test_tokens_that_prove_nothing_are_401_with_the_envelope(client: Client, kind: str) -> None:
    response = client.http.get("/api/v1/auth/me", headers=bearer(forged_tokens()[kind]))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    if kind == "expired":
        assert body(response) == envelope("TOKEN_EXPIRED", "The access token has expired.")
    else:
        assert body(response) == envelope("INVALID_TOKEN", "The access token is not valid.")


@pytest.mark.parametrize("kind", ["other-secret", "expired"])
def test_a_bad_token_on_a_public_read_is_401_not_anonymous(client: Client, kind: str) -> None:
    response = client.http.get("/api/v1/images/some-id", headers=bearer(forged_tokens()[kind]))
    assert response.status_code == 401


def mutating_routes() -> list[tuple[str, str, str]]:
    """Every non-GET route the app serves: (method, path, content type). New routes join automatically."""
    import app

    routes = []
    for path, methods in app.app.routes.items():
        for method, entry in methods.items():
            if method in {"GET", "HEAD", "OPTIONS"}:
                continue
            concrete = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
            routes.append((method, concrete, entry.content_types[0]))
    return sorted(routes)


SAMPLE_BODIES = {
    "application/json": b"{}",
    "application/x-www-form-urlencoded": b"username=a%40example.com&password=x",
    "multipart/form-data": (
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\nx\r\n--x--\r\n'
    ),
}


@pytest.mark.parametrize(("method", "path", "content_type"), mutating_routes())
@pytest.mark.parametrize("authorization", ["Bearer not-a-jwt", "Bearer ", "Basic YWRhOnNlY3JldA==", "Bearer a.b.c"])
def test_every_mutating_route_answers_401_to_a_malformed_bearer(
    client: Client, method: str, path: str, content_type: str, authorization: str
) -> None:
    headers = {
        "Content-Type": content_type + ("; boundary=x" if content_type.startswith("multipart/") else ""),
        "Authorization": authorization,
    }
    response = client.http.request(method, path, headers=headers, body=SAMPLE_BODIES[content_type])
    assert response.status_code == 401, (method, path, response.body)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert body(response)["detail"]["code"] == "INVALID_TOKEN"
    assert body(response)["detail"]["details"] == {}


def test_the_mutating_route_list_covers_accounts_and_images() -> None:
    paths = {(method, path) for method, path, _ in mutating_routes()}
    assert ("POST", "/api/v1/auth/register") in paths
    assert ("PATCH", "/api/v1/images/00000000-0000-0000-0000-000000000000") in paths
    assert ("DELETE", "/api/v1/images/00000000-0000-0000-0000-000000000000") in paths


def test_local_account_routes_are_off_with_the_oidc_provider(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_PROVIDER", "oidc")
    monkeypatch.setenv("OIDC_ISSUER", "https://idp.example.test")
    monkeypatch.setenv("OIDC_AUDIENCE", "client")
    monkeypatch.setenv("OIDC_JWKS_URL", "http://127.0.0.1:9/jwks")
    composition.reset()
    response = post(client, "/api/v1/auth/register", {"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 404
    assert body(response) == envelope("NOT_FOUND", "Local accounts are disabled; sign in with the identity provider.")


def test_a_jwks_outage_at_cold_start_answers_503_not_401(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider is down when the first OIDC requests arrive: every one (the throttled ones after the first
    failed fetch too) is a 503 in the envelope, so the web front end keeps the session (web/js/api.js)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    monkeypatch.setenv("AUTH_PROVIDER", "oidc")
    monkeypatch.setenv("OIDC_ISSUER", "https://idp.example.test")
    monkeypatch.setenv("OIDC_AUDIENCE", "client")
    monkeypatch.setenv("OIDC_JWKS_URL", "http://127.0.0.1:9/jwks")  # nothing listens on the discard port
    composition.reset()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"sub": "s-1", "iss": "https://idp.example.test", "aud": "client", "iat": 1, "exp": 2**40}
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    for _ in range(3):
        response = client.http.get("/api/v1/auth/me", headers=bearer(token))
        assert response.status_code == 503
        assert body(response) == envelope(
            "IDENTITY_PROVIDER_UNAVAILABLE", "The identity provider is unavailable. Try again shortly."
        )
