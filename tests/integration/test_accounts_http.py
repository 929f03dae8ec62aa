"""Accounts over HTTP against the running stack: sign up, sign in, own, list and delete images; privacy; 401s.

The stack runs with bcrypt's real cost (12) and real Redis rate limits. Every request comes from 127.0.0.1, and
the per-address login limit (20 per 5 minutes) is shared by the whole session, so these tests sign in sparingly.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from scripts.stack import Stack
from tests.conftest import ROOT, make_jpeg, make_png
from tests.integration.conftest import Api

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def register(api: Api, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = api.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return dict(response.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_register_login_upload_list_and_delete_mine(api: Api) -> None:
    email = new_email()
    created = register(api, email.upper())
    assert created["user"]["email"] == email
    assert created["token_type"] == "bearer"

    login = api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    auth = bearer(login.json()["access_token"])
    me = api.get("/api/v1/auth/me", headers=auth).json()
    assert (me["id"], me["email"]) == (created["user"]["id"], email)

    # One upload straight to the bucket (upload-url + presigned POST), one through the API.
    ticket = api.request_upload("mine.jpg", "image/jpeg", len(make_jpeg(800, 600)))
    assert ticket["delete_token"]  # that one was anonymous: no bearer on this request
    owned_ticket = api.post(
        "/api/v1/images/upload-url",
        json={"filename": "mine.jpg", "content_type": "image/jpeg", "size": 5000, "visibility": "unlisted"},
        headers=auth,
    ).json()
    assert owned_ticket["delete_token"] is None
    through_api = api.post(
        "/api/v1/images/upload", files={"file": ("small.png", make_png(), "image/png")}, headers=auth
    )
    assert through_api.status_code == 201, through_api.text
    assert through_api.json()["delete_token"] is None

    listed = api.get("/api/v1/users/me/images", headers=auth)
    assert listed.status_code == 200
    ids = [item["id"] for item in listed.json()["items"]]
    assert ids == [through_api.json()["id"], owned_ticket["id"]]  # newest first, only mine
    page = api.get("/api/v1/users/me/images?limit=1", headers=auth).json()
    assert len(page["items"]) == 1
    assert page["next_cursor"]

    for image_id in ids:
        assert api.delete(f"/api/v1/images/{image_id}", headers=auth).status_code == 204
    assert api.get("/api/v1/users/me/images", headers=auth).json()["items"] == []
    assert api.get("/api/v1/auth/me", headers=auth).json()["usage"] == {"image_count": 0, "bytes_used": 0}


def test_oauth2_token_form_signs_in(api: Api) -> None:
    email = new_email()
    register(api, email)
    response = api.post("/api/v1/auth/token", data={"grant_type": "password", "username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"
    assert api.get("/api/v1/auth/me", headers=bearer(response.json()["access_token"])).status_code == 200


def test_private_image_is_404_to_others_and_unlisted_stays_out_of_the_gallery(api: Api) -> None:
    owner = bearer(register(api, new_email())["access_token"])
    other = bearer(register(api, new_email())["access_token"])
    private = api.post(
        "/api/v1/images/upload",
        files={"file": ("p.png", make_png(), "image/png")},
        data={"visibility": "private"},
        headers=owner,
    ).json()
    unlisted = api.post(
        "/api/v1/images/upload",
        files={"file": ("u.png", make_png(), "image/png")},
        data={"visibility": "unlisted"},
        headers=owner,
    ).json()
    for suffix in ("", "/file", "/thumbnail"):
        assert api.get(f"/api/v1/images/{private['id']}{suffix}", headers=owner).status_code in {200, 302}
        for headers in (other, {}):
            response = api.get(f"/api/v1/images/{private['id']}{suffix}", headers=headers)
            assert response.status_code == 404
            assert response.json()["detail"]["code"] == "IMAGE_NOT_FOUND"
    assert api.get(f"/api/v1/images/{unlisted['id']}").status_code == 200
    gallery = {item["id"] for item in api.get("/api/v1/images?limit=100").json()["items"]}
    assert private["id"] not in gallery
    assert unlisted["id"] not in gallery
    refused = api.patch(f"/api/v1/images/{unlisted['id']}", json={"visibility": "public"}, headers=other)
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "FORBIDDEN"
    assert api.delete(f"/api/v1/images/{unlisted['id']}", headers=other).status_code == 403


def test_unknown_email_and_wrong_password_look_the_same_and_repeated_failures_are_throttled_alike(
    api: Api,
) -> None:
    email, unknown_email = new_email(), new_email()
    register(api, email)
    unknown = api.post("/api/v1/auth/login", json={"email": unknown_email, "password": PASSWORD})
    wrong = api.post("/api/v1/auth/login", json={"email": email, "password": "not the password"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.content == wrong.content
    assert wrong.json()["detail"]["code"] == "INVALID_CREDENTIALS"
    for _ in range(4):
        for address in (email, unknown_email):
            assert api.post("/api/v1/auth/login", json={"email": address, "password": "nope nope"}).status_code == 401
    # The sixth attempt from this source waits, known address or not (no 403/429 oracle), right password or not.
    known_throttled = api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    unknown_throttled = api.post("/api/v1/auth/login", json={"email": unknown_email, "password": PASSWORD})
    assert known_throttled.status_code == unknown_throttled.status_code == 429
    known_detail, unknown_detail = known_throttled.json()["detail"], unknown_throttled.json()["detail"]
    assert known_detail["message"] == unknown_detail["message"]
    assert set(known_detail["details"]) == set(unknown_detail["details"])
    assert known_throttled.json()["detail"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert 1 <= int(known_throttled.headers["Retry-After"]) <= 900  # the first wait is a few seconds


def outbox_dir(stack: Stack) -> Path:
    configured = stack.env().get("MAIL_OUTBOX_DIR") or ".run/outbox"
    path = Path(configured)
    return path if path.is_absolute() else ROOT / path


def wait_for_mail(directory: Path, to: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(directory.glob("*.json")) if directory.exists() else []:
            message = json.loads(path.read_text())
            if message["to"] == to:
                return dict(message)
        time.sleep(0.1)
    raise AssertionError(f"no mail to {to} in {directory}")


def test_password_reset_through_the_local_outbox(api: Api, stack: Stack) -> None:
    email = new_email()
    register(api, email)
    accepted = api.post("/api/v1/auth/password-reset", json={"email": email})
    assert accepted.status_code == 202
    message = wait_for_mail(outbox_dir(stack), email)
    token = message["data"]["token"]
    changed = api.post("/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "a whole new one"})
    assert changed.status_code == 200, changed.text
    assert api.post("/api/v1/auth/login", json={"email": email, "password": "a whole new one"}).status_code == 200
    reused = api.post("/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "another one!"})
    assert reused.json()["detail"]["code"] == "INVALID_RESET_TOKEN"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/images/upload-url"),
        ("PATCH", "/api/v1/images/00000000-0000-0000-0000-000000000000"),
        ("DELETE", "/api/v1/images/00000000-0000-0000-0000-000000000000"),
        ("POST", "/api/v1/auth/login"),
    ],
)
def test_a_malformed_bearer_is_401_over_http(api: Api, method: str, path: str) -> None:
    response = api.request(method, path, json={}, headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {
        "detail": {"code": "INVALID_TOKEN", "message": "The access token is not valid.", "details": {}}
    }
