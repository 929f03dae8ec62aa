"""Class: unbounded work from small or hostile request inputs (issue 11, item 1).

Every request input is bounded *before* it is parsed: JSON bodies by size, then depth; query values by length;
multipart forms by size and part count; e-mail addresses by length before any pattern runs over them. Each
test walks every route of its kind (taken from the app's own route table), so a new route is covered by
default.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.api.bodies import MAX_JSON_BODY_BYTES, MAX_JSON_DEPTH, MAX_QUERY_VALUE_CHARS
from chalicelib.api.multipart import MAX_FORM_PARTS
from chalicelib.services import users
from tests.conftest import make_png
from tests.functional.conftest import body


def _routes(content_type: str) -> list[tuple[str, str]]:
    import app

    found = []
    for path, methods in app.app.routes.items():
        for method, entry in methods.items():
            if content_type in entry.content_types and method in {"POST", "PUT", "PATCH"}:
                found.append((method, path.replace("{image_id}", "00000000-0000-0000-0000-000000000000")))
    return sorted(found)


JSON_ROUTES = _routes("application/json")
QUERY_ROUTES = [
    ("/api/v1/images", "cursor"),
    ("/api/v1/images", "limit"),
    ("/api/v1/images/00000000-0000-0000-0000-000000000000/thumbnail", "size"),
]


@pytest.fixture
def signed_in(client: Client) -> Client:
    """A client whose requests carry a valid bearer token, so routes that need sign-in reach their body."""
    response = client.http.post(
        "/api/v1/auth/register",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"email": "bounds@example.com", "password": "long enough pw"}),
    )
    assert response.status_code == 201, response.body
    client.token = body(response)["access_token"]  # type: ignore[attr-defined]
    return client


def _send(client: Client, method: str, path: str, raw: bytes | str) -> Any:
    headers = {"Content-Type": "application/json"}
    if token := getattr(client, "token", None):
        headers["Authorization"] = f"Bearer {token}"
    return getattr(client.http, method.lower())(path, headers=headers, body=raw)


def test_the_json_route_list_is_not_empty() -> None:
    assert ("POST", "/api/v1/auth/login") in JSON_ROUTES
    assert ("POST", "/api/v1/images/upload-url") in JSON_ROUTES


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_unbounded_inputs_json_bodies_over_the_size_bound_are_413_before_parsing(
    signed_in: Client, method: str, path: str
) -> None:
    padding = "x" * MAX_JSON_BODY_BYTES
    response = _send(signed_in, method, path, json.dumps({"email": padding, "filename": padding}))
    assert response.status_code == 413
    assert body(response)["detail"]["code"] == "REQUEST_TOO_LARGE"
    assert body(response)["detail"]["details"] == {"max_bytes": MAX_JSON_BODY_BYTES}


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 30_000])
def test_unbounded_inputs_deeply_nested_json_is_400_never_500(
    signed_in: Client, method: str, path: str, depth: int
) -> None:
    raw = '{"a":' + "[" * depth + "]" * depth + "}"
    response = _send(signed_in, method, path, raw)
    assert response.status_code == 400, response.body
    assert body(response)["detail"]["code"] == "VALIDATION_ERROR"


NOT_JSON_OBJECTS = [b"\xff\xfe{", b"[]", b"null", b'"text"', b'{"a": 1e999999}', b'{"a": NaN}', b"{" * 100]


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize("raw", NOT_JSON_OBJECTS)
def test_unbounded_inputs_json_that_is_not_an_object_is_400(
    signed_in: Client, method: str, path: str, raw: bytes
) -> None:
    response = _send(signed_in, method, path, raw)
    assert response.status_code == 400, response.body
    assert body(response)["detail"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(("path", "name"), QUERY_ROUTES)
def test_unbounded_inputs_query_values_over_the_bound_are_400(client: Client, path: str, name: str) -> None:
    response = client.http.get(f"{path}?{name}={'9' * (MAX_QUERY_VALUE_CHARS + 1)}")
    assert response.status_code == 400
    assert body(response)["detail"]["code"] == "VALIDATION_ERROR"
    assert body(response)["detail"]["details"]["field"] == name


def test_unbounded_inputs_a_form_of_many_parts_is_refused(client: Client) -> None:
    boundary = "b0undary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n' for i in range(MAX_FORM_PARTS + 5)
    ]
    file_part = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + make_png()
        + b"\r\n"
    )
    raw = "".join(parts).encode() + file_part + f"--{boundary}--\r\n".encode()
    response = client.http.post(
        "/api/v1/images/upload", headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}, body=raw
    )
    assert response.status_code == 400
    assert body(response)["detail"]["code"] == "VALIDATION_ERROR"


class _CountingPattern:
    """Stands in for the e-mail pattern and records the longest string it was ever run over."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.longest = 0

    def match(self, text: str) -> re.Match[str] | None:
        self.longest = max(self.longest, len(text))
        return self.pattern.match(text)


@pytest.mark.parametrize(
    ("path", "payload_key"),
    [
        ("/api/v1/auth/login", "email"),
        ("/api/v1/auth/register", "email"),
        ("/api/v1/auth/password-reset", "email"),
    ],
)
@pytest.mark.parametrize("address", ["a" * 16_000 + "@x", "@" * 16_000, "a@" + "b." * 8_000, " " * 16_000 + "a@b.c"])
def test_unbounded_inputs_no_pattern_ever_runs_over_a_long_address(
    client: Client, monkeypatch: pytest.MonkeyPatch, path: str, payload_key: str, address: str
) -> None:
    counting = _CountingPattern(users._EMAIL)
    monkeypatch.setattr(users, "_EMAIL", counting)
    response = _send(client, "POST", path, json.dumps({payload_key: address, "password": "long enough pw"}))
    assert response.status_code < 500, response.body  # leading blanks are stripped: " "*16000 + "a@b.c" is fine
    assert counting.longest <= users.MAX_EMAIL_CHARS
