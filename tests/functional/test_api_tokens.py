"""Personal API tokens in-process: create (secret once, hashed at rest), list with last use, revoke, expire."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import composition
from chalicelib.auth import api_tokens
from chalicelib.settings import get_settings
from tests.fakes import Clock
from tests.functional.conftest import body
from tests.functional.test_auth_routes import bearer, envelope, post, register

TOKENS = "/api/v1/users/me/tokens"


@pytest.fixture
def clock(client: Client) -> Clock:
    fake = Clock(1_800_000_000.0)
    composition.api_token_service().clock = fake
    return fake


@pytest.fixture
def session(client: Client) -> dict[str, str]:
    return bearer(register(client)["access_token"])


def create(client: Client, session: dict[str, str], **payload: Any) -> dict[str, Any]:
    payload = {"name": "laptop", "scope": "full", **payload}
    response = post(client, TOKENS, payload, session)
    assert response.status_code == 201, response.body
    return dict(body(response))


def listed(client: Client, session: dict[str, str]) -> list[dict[str, Any]]:
    response = client.http.get(TOKENS, headers=session)
    assert response.status_code == 200, response.body
    return list(body(response)["items"])


def me(client: Client, token: str) -> Any:
    return client.http.get("/api/v1/auth/me", headers=bearer(token))


def test_created_token_is_shown_once_and_stored_only_as_its_sha256(client: Client, session: dict[str, str]) -> None:
    created = create(client, session, name="  my   laptop ", scope="upload")
    secret = created["token"]
    assert re.fullmatch(r"chi_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", secret)
    assert created["name"] == "my laptop"
    assert created["scope"] == "upload"
    assert created["expires_at"] is None
    assert created["last_used_at"] is None
    assert "token" not in listed(client, session)[0]
    table = boto3.client("dynamodb", region_name="us-east-1")
    items = table.scan(TableName=get_settings().users_table)["Items"]
    raw = json.dumps(items)
    assert secret not in raw
    assert hashlib.sha256(secret.encode()).hexdigest() in raw


def test_token_authenticates_as_its_owner_beside_jwts(client: Client, session: dict[str, str]) -> None:
    secret = create(client, session)["token"]
    response = me(client, secret)
    assert response.status_code == 200
    profile = body(response)
    assert profile["email"] == "ada@example.com"
    assert profile["provider"] == "local"
    assert profile["api_token"]["scope"] == "full"
    assert client.http.get("/api/v1/auth/me", headers=session).status_code == 200


def test_list_shows_last_use_recorded_at_most_once_a_minute(
    client: Client, session: dict[str, str], clock: Clock
) -> None:
    secret = create(client, session)["token"]
    assert listed(client, session)[0]["last_used_at"] is None
    assert me(client, secret).status_code == 200
    first = listed(client, session)[0]["last_used_at"]
    assert first is not None
    clock.now += 30
    assert me(client, secret).status_code == 200
    assert listed(client, session)[0]["last_used_at"] == first
    clock.now += 31
    assert me(client, secret).status_code == 200
    assert listed(client, session)[0]["last_used_at"] != first


def test_revoked_token_stops_working_at_once(client: Client, session: dict[str, str]) -> None:
    created = create(client, session)
    assert me(client, created["token"]).status_code == 200
    response = client.http.delete(f"{TOKENS}/{created['id']}", headers=session)
    assert response.status_code == 204
    response = me(client, created["token"])
    assert response.status_code == 401
    assert body(response) == envelope("INVALID_TOKEN", "This API token has been revoked or does not exist.")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert listed(client, session) == []


def test_revoking_twice_or_someone_elses_token_is_404(client: Client, session: dict[str, str]) -> None:
    created = create(client, session)
    other = bearer(register(client, email="bob@example.com")["access_token"])
    response = client.http.delete(f"{TOKENS}/{created['id']}", headers=other)
    assert response.status_code == 404
    assert body(response) == envelope("API_TOKEN_NOT_FOUND", "No such API token.", {"id": created["id"]})
    assert me(client, created["token"]).status_code == 200
    assert client.http.delete(f"{TOKENS}/{created['id']}", headers=session).status_code == 204
    assert client.http.delete(f"{TOKENS}/{created['id']}", headers=session).status_code == 404


def test_expired_token_is_refused_with_token_expired(client: Client, session: dict[str, str], clock: Clock) -> None:
    created = create(client, session, expires_in_days=1)
    assert me(client, created["token"]).status_code == 200
    clock.now += 86400
    response = me(client, created["token"])
    assert response.status_code == 401
    assert body(response)["detail"]["code"] == "TOKEN_EXPIRED"
    assert body(response)["detail"]["message"] == "This API token has expired."
    assert listed(client, session)[0]["expired"] is True


@pytest.mark.parametrize(
    "token",
    [
        "chi_",
        "chi_0123456789abcdef_short",
        "chi_0123456789abcdef_" + "A" * 43,  # well-formed, unknown
        "chi_0123456789ABCDEF_" + "A" * 43,
    ],
)
def test_malformed_or_unknown_tokens_are_401(client: Client, token: str) -> None:
    response = me(client, token)
    assert response.status_code == 401
    assert body(response)["detail"]["code"] == "INVALID_TOKEN"


def test_a_forged_secret_for_a_real_token_id_is_401(client: Client, session: dict[str, str]) -> None:
    secret = create(client, session)["token"]
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    assert me(client, forged).status_code == 401


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"scope": "full"}, "name"),
        ({"name": "", "scope": "full"}, "name"),
        ({"name": "x" * 101, "scope": "full"}, "name"),
        ({"name": "a"}, "scope"),
        ({"name": "a", "scope": "admin"}, "scope"),
        ({"name": "a", "scope": "full", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "a", "scope": "full", "expires_in_days": "7"}, "expires_in_days"),
        ({"name": "a", "scope": "full", "expires_in_days": True}, "expires_in_days"),
        ({"name": "a", "scope": "full", "expires_in_days": 3651}, "expires_in_days"),
    ],
)
def test_bad_token_requests_are_400_naming_the_field(
    client: Client, session: dict[str, str], payload: dict[str, Any], field: str
) -> None:
    response = post(client, TOKENS, payload, session)
    assert response.status_code == 400
    assert body(response)["detail"]["code"] == "VALIDATION_ERROR"
    assert body(response)["detail"]["details"]["field"] == field


def test_token_routes_need_a_session(client: Client) -> None:
    for response in (client.http.get(TOKENS), post(client, TOKENS, {"name": "a", "scope": "full"})):
        assert response.status_code == 401
        assert body(response)["detail"]["code"] == "AUTHENTICATION_REQUIRED"


def test_tokens_are_limited_per_user(client: Client, session: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_tokens, "MAX_TOKENS_PER_USER", 2)
    create(client, session)
    create(client, session)
    response = post(client, TOKENS, {"name": "third", "scope": "read"}, session)
    assert response.status_code == 400
    assert body(response)["detail"]["details"] == {"max_tokens": 2}
    assert len(listed(client, session)) == 2


def test_list_is_newest_first_and_only_mine(client: Client, session: dict[str, str], clock: Clock) -> None:
    create(client, session, name="old")
    clock.now += 5
    create(client, session, name="new")
    other = bearer(register(client, email="bob@example.com")["access_token"])
    create(client, other, name="bobs")
    assert [token["name"] for token in listed(client, session)] == ["new", "old"]
    assert [token["name"] for token in listed(client, other)] == ["bobs"]


def test_upload_token_uploads_as_its_owner_and_full_token_deletes(client: Client, session: dict[str, str]) -> None:
    from tests.functional.test_ownership import mine, upload

    uploader = bearer(create(client, session, scope="upload")["token"])
    image = upload(client, uploader, visibility="private")
    assert image["visibility"] == "private"
    assert "delete_token" not in image or image["delete_token"] is None
    assert [item["id"] for item in mine(client, session)["items"]] == [image["id"]]
    assert client.http.get(f"/api/v1/images/{image['id']}", headers=uploader).status_code == 200
    refused = client.http.delete(f"/api/v1/images/{image['id']}", headers=uploader)
    assert refused.status_code == 403
    assert body(refused)["detail"]["code"] == "INSUFFICIENT_SCOPE"
    full = bearer(create(client, session, scope="full")["token"])
    assert client.http.delete(f"/api/v1/images/{image['id']}", headers=full).status_code == 204


def test_a_token_cannot_make_tokens_or_change_the_password(client: Client, session: dict[str, str]) -> None:
    full = bearer(create(client, session, scope="full")["token"])
    response = post(client, TOKENS, {"name": "child", "scope": "full"}, full)
    assert response.status_code == 403
    assert body(response) == envelope(
        "INSUFFICIENT_SCOPE", "API tokens cannot be used here; sign in with your password instead.", {"scope": "full"}
    )
    response = post(client, "/api/v1/auth/password-reset", {"email": "ada@example.com"}, full)
    assert response.status_code == 403
