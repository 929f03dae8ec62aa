"""Every served route x every API token scope: allowed, or 403 INSUFFICIENT_SCOPE. Written out by hand.

The expectations below are the product decision, stated independently of ``chalicelib.api.scopes``; a route
the app serves but this table does not name fails ``test_every_served_route_has_a_decided_outcome``, so a new
route cannot slip through without someone deciding what tokens may do with it.
"""

from __future__ import annotations

import json
import uuid

import pytest
from chalice.test import Client

from tests.functional.conftest import body
from tests.functional.test_auth_routes import bearer, post, register

ALL = frozenset({"upload", "read", "full"})
NONE: frozenset[str] = frozenset()

# (method, route template) -> the scopes that get past the scope check.
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/health"): ALL,  # public, reads no credentials
    ("GET", "/health/details"): ALL,  # reads the operator token header only, never a bearer's scope
    ("GET", "/api/v1/openapi.json"): ALL,
    ("GET", "/api/v1/images"): ALL,
    ("GET", "/{ref}"): ALL,  # the public share page and oEmbed read no credentials
    ("GET", "/api/v1/oembed"): ALL,
    ("POST", "/api/v1/images/upload-url"): frozenset({"upload", "full"}),
    ("POST", "/api/v1/images/upload"): frozenset({"upload", "full"}),
    ("GET", "/api/v1/images/{image_id}"): ALL,  # an uploader follows its upload to ready
    ("GET", "/api/v1/images/{image_id}/file"): frozenset({"read", "full"}),
    ("GET", "/api/v1/images/{image_id}/thumbnail"): frozenset({"read", "full"}),
    ("GET", "/api/v1/users/me/images"): frozenset({"read", "full"}),
    ("GET", "/api/v1/users/me/images/{image_id}/similar"): frozenset({"read", "full"}),  # near-duplicates of mine
    ("DELETE", "/api/v1/images/{image_id}"): frozenset({"full"}),
    ("PATCH", "/api/v1/images/{image_id}"): frozenset({"full"}),
    # Multipart uploads of large files: uploading; the integrity report: reading.
    ("POST", "/api/v1/images/multipart"): frozenset({"upload", "full"}),
    ("POST", "/api/v1/images/{image_id}/multipart/parts"): frozenset({"upload", "full"}),
    ("GET", "/api/v1/images/{image_id}/multipart/parts"): frozenset({"upload", "full"}),
    ("POST", "/api/v1/images/{image_id}/multipart/complete"): frozenset({"upload", "full"}),
    ("DELETE", "/api/v1/images/{image_id}/multipart"): frozenset({"upload", "full"}),
    ("GET", "/api/v1/images/{image_id}/verify"): frozenset({"read", "full"}),
    ("GET", "/api/v1/auth/me"): ALL,
    # Account management: never with a token.
    ("POST", "/api/v1/auth/register"): NONE,
    ("POST", "/api/v1/auth/login"): NONE,
    ("POST", "/api/v1/auth/token"): NONE,
    ("POST", "/api/v1/auth/password-reset"): NONE,
    ("POST", "/api/v1/auth/password-reset/confirm"): NONE,
    ("POST", "/api/v1/users/me/tokens"): NONE,
    ("GET", "/api/v1/users/me/tokens"): NONE,
    ("DELETE", "/api/v1/users/me/tokens/{token_id}"): NONE,
}


def served() -> list[tuple[str, str, str]]:
    import app

    return sorted(
        (method, path, entry.content_types[0])
        for path, methods in app.app.routes.items()
        for method, entry in methods.items()
        if method != "OPTIONS"
    )


def test_every_served_route_has_a_decided_outcome() -> None:
    assert {(method, path) for method, path, _ in served()} - set(EXPECTED) == set()


def test_the_scope_table_and_these_expectations_agree() -> None:
    from chalicelib.api.scopes import ROUTE_SCOPES

    allowed = {route: frozenset(str(scope) for scope in scopes) for route, scopes in ROUTE_SCOPES.items()}
    assert {route: EXPECTED.get(route) for route in allowed} == allowed
    assert not [route for route, scopes in EXPECTED.items() if not scopes and route in allowed]


@pytest.fixture
def tokens(client: Client) -> dict[str, str]:
    session = bearer(register(client)["access_token"])
    made = {}
    for scope in sorted(ALL):
        response = post(client, "/api/v1/users/me/tokens", {"name": scope, "scope": scope}, session)
        assert response.status_code == 201, response.body
        made[scope] = body(response)["token"]
    return made


@pytest.mark.parametrize(("method", "path", "content_type"), served(), ids=lambda value: str(value))
def test_route_by_scope(client: Client, tokens: dict[str, str], method: str, path: str, content_type: str) -> None:
    url = path.replace("{image_id}", str(uuid.uuid4())).replace("{token_id}", "0123456789abcdef")
    payload = "{}" if content_type == "application/json" else ""
    for scope, secret in tokens.items():
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": content_type}
        if method in {"POST", "PATCH"}:
            response = client.http.request(method, url, headers=headers, body=payload.encode())
        else:
            response = client.http.request(method, url, headers=headers)
        refused = response.status_code == 403 and body(response)["detail"]["code"] == "INSUFFICIENT_SCOPE"
        allowed = scope in EXPECTED[(method, path)]
        assert refused is not allowed, (scope, response.status_code, response.body)
        if refused:
            assert json.loads(response.body)["detail"]["details"]["scope"] == scope
