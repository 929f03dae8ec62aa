"""Security checks as tests (issue 11): every id-taking route against other users and anonymous callers,
delete-token guessing bounded, and no secret in the logs.

The route list comes from the app itself, so a new ``{image_id}`` route is checked by default: a stranger and
an anonymous caller may never change, read privately, or learn more about someone else's private image than
that it does not exist (404, never 403, for private images).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.local import LambdaEventConverter
from chalice.test import Client

from chalicelib.api.context import DELETE_TOKEN_ATTEMPTS_PER_MINUTE
from scripts.redis_servers import RedisProcess, redis_servers
from tests.functional.conftest import body
from tests.functional.test_ownership import sign_up, upload

JSON = {"Content-Type": "application/json"}


def id_routes() -> list[tuple[str, str, str]]:
    import app

    return sorted(
        (method, path, entry.content_types[0])
        for path, methods in app.app.routes.items()
        if "{image_id}" in path
        for method, entry in methods.items()
        if method != "OPTIONS"
    )


def call(client: Client, method: str, path: str, content_type: str, headers: dict[str, str]) -> Any:
    payload = b"{}" if content_type == "application/json" else b""
    if method == "PATCH":
        payload = json.dumps({"visibility": "public"}).encode()
    if method in {"POST", "PATCH"}:
        return client.http.request(method, path, headers={"Content-Type": content_type, **headers}, body=payload)
    return client.http.request(method, path, headers=headers)


@pytest.mark.parametrize(("method", "path", "content_type"), id_routes(), ids=lambda v: str(v))
@pytest.mark.parametrize("caller", ["stranger", "anonymous"])
def test_idor_nobody_but_the_owner_reaches_a_private_image(
    client: Client, method: str, path: str, content_type: str, caller: str
) -> None:
    owner = sign_up(client, "owner")
    private = upload(client, owner, visibility="private")
    headers = sign_up(client, "stranger") if caller == "stranger" else {}
    response = call(client, method, path.replace("{image_id}", private["id"]), content_type, headers)
    assert response.status_code in {401, 403, 404}, (method, path, response.status_code, response.body)
    if response.status_code == 403:
        # A 403 on a private image would confirm that it exists: only route-level refusals may say so.
        assert body(response)["detail"]["code"] in {"DELETE_TOKEN_REQUIRED", "FORBIDDEN", "INVALID_DELETE_TOKEN"}
        assert method in {"DELETE", "PATCH", "POST"}
    # The owner's image is untouched and still private.
    meta = body(client.http.get(f"/api/v1/images/{private['id']}", headers=owner))
    assert (meta["status"], meta["visibility"]) == ("ready", "private")


@pytest.mark.parametrize(("method", "path", "content_type"), id_routes(), ids=lambda v: str(v))
def test_idor_a_stranger_cannot_change_a_public_image(
    client: Client, method: str, path: str, content_type: str
) -> None:
    owner = sign_up(client, "owner")
    public = upload(client, owner, visibility="unlisted")
    stranger = sign_up(client, "stranger")
    response = call(client, method, path.replace("{image_id}", public["id"]), content_type, stranger)
    if method in {"DELETE", "PATCH", "POST"}:
        assert response.status_code in {400, 401, 403, 404}, (method, path, response.body)
    meta = body(client.http.get(f"/api/v1/images/{public['id']}", headers=owner))
    assert (meta["status"], meta["visibility"]) == ("ready", "unlisted")


@pytest.fixture
def redis_node(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisProcess]:
    with redis_servers(1) as servers:
        monkeypatch.setenv("REDIS_NODES", servers[0].url)
        monkeypatch.setenv("RATE_LIMIT_UPLOADS_PER_MINUTE", "0")
        yield servers[0]


def test_delete_token_guessing_is_rate_limited_per_source(
    redis_node: RedisProcess, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    anonymous = upload(client)
    url = f"/api/v1/images/{anonymous['id']}"
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "198.51.100.99")
    codes = [
        client.http.delete(url, headers={"X-Delete-Token": f"guess-{i}"}).status_code
        for i in range(DELETE_TOKEN_ATTEMPTS_PER_MINUTE + 1)
    ]
    assert codes[:-1] == [403] * DELETE_TOKEN_ATTEMPTS_PER_MINUTE
    assert codes[-1] == 429
    # Even the right token waits now, from that source: a guesser cannot tell a hit from the limit.
    assert client.http.delete(url, headers={"X-Delete-Token": anonymous["delete_token"]}).status_code == 429
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "203.0.113.5")
    assert client.http.delete(url, headers={"X-Delete-Token": anonymous["delete_token"]}).status_code == 204


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/images/{image_id}/verify"),
        ("GET", "/api/v1/images/{image_id}/multipart/parts"),
        ("DELETE", "/api/v1/images/{image_id}/multipart"),
    ],
)
def test_every_route_that_takes_a_delete_token_spends_the_same_guess_budget(
    redis_node: RedisProcess, client: Client, monkeypatch: pytest.MonkeyPatch, method: str, path: str
) -> None:
    anonymous = upload(client)
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "198.51.100.77")
    url = path.replace("{image_id}", anonymous["id"])
    codes = [
        client.http.request(method, url, headers={"X-Delete-Token": f"guess-{i}"}, body=b"").status_code
        for i in range(DELETE_TOKEN_ATTEMPTS_PER_MINUTE)
    ]
    assert 429 not in codes
    assert all(400 <= code < 500 for code in codes), codes
    # The budget is per source, not per route: guessing elsewhere used up the delete route's too.
    right = {"X-Delete-Token": anonymous["delete_token"]}
    assert client.http.delete(f"/api/v1/images/{anonymous['id']}", headers=right).status_code == 429


def test_no_secret_reaches_the_logs(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    password = "correct horse battery staple"
    response = client.http.post(
        "/api/v1/auth/register", headers=JSON, body=json.dumps({"email": "log@example.com", "password": password})
    )
    token = body(response)["access_token"]
    client.http.post(
        "/api/v1/auth/login", headers=JSON, body=json.dumps({"email": "log@example.com", "password": "x" * 9})
    )
    client.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    anonymous = upload(client)
    client.http.delete(f"/api/v1/images/{anonymous['id']}", headers={"X-Delete-Token": anonymous["delete_token"]})
    client.http.get("/health/details", headers={"X-Operator-Token": "functional-tier-operator-token"})
    from chalicelib.settings import get_settings

    text = caplog.text + "".join(str(getattr(r, "__dict__", "")) for r in caplog.records)
    for secret in (
        password,
        token,
        anonymous["delete_token"],
        str(get_settings().jwt_secret),
        "functional-tier-operator-token",
    ):
        assert secret not in text
