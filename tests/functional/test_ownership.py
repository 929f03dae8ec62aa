"""Ownership, visibility and quotas in-process: who may see, change and delete which image."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import composition
from chalicelib.settings import get_settings
from tests.conftest import make_jpeg, make_png
from tests.functional.conftest import body, drain_queue

JSON = {"Content-Type": "application/json"}
PASSWORD = "correct horse battery"


def sign_up(client: Client, name: str) -> dict[str, str]:
    response = client.http.post(
        "/api/v1/auth/register",
        headers=JSON,
        body=json.dumps({"email": f"{name}@example.com", "password": PASSWORD}),
    )
    assert response.status_code == 201, response.body
    return {"Authorization": f"Bearer {body(response)['access_token']}"}


@pytest.fixture
def ada(client: Client) -> dict[str, str]:
    return sign_up(client, "ada")


@pytest.fixture
def bob(client: Client) -> dict[str, str]:
    return sign_up(client, "bob")


def multipart(data: bytes, **fields: str) -> tuple[dict[str, str], bytes]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode()


def upload(client: Client, auth: dict[str, str] | None = None, **fields: str) -> dict[str, Any]:
    headers, payload = multipart(make_png(), **fields)
    response = client.http.post("/api/v1/images/upload", headers={**headers, **(auth or {})}, body=payload)
    assert response.status_code == 201, response.body
    return dict(body(response))


def upload_url(client: Client, auth: dict[str, str] | None = None, **overrides: Any) -> Any:
    payload = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 1000, **overrides}
    return client.http.post("/api/v1/images/upload-url", headers={**JSON, **(auth or {})}, body=json.dumps(payload))


def patch(client: Client, image_id: str, auth: dict[str, str] | None, visibility: str) -> Any:
    return client.http.request(
        "PATCH",
        f"/api/v1/images/{image_id}",
        headers={**JSON, **(auth or {})},
        body=json.dumps({"visibility": visibility}).encode(),
    )


def mine(client: Client, auth: dict[str, str], **params: str) -> dict[str, Any]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = client.http.get(f"/api/v1/users/me/images?{query}", headers=auth)
    assert response.status_code == 200, response.body
    return dict(body(response))


def gallery_ids(client: Client) -> set[str]:
    return {item["id"] for item in body(client.http.get("/api/v1/images?limit=100"))["items"]}


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"detail": {"code": code, "message": message, "details": details or {}}}


# --- ownership -------------------------------------------------------------------------------------


def test_signed_in_upload_is_owned_and_has_no_delete_token(client: Client, ada: dict[str, str]) -> None:
    image = upload(client, ada)
    assert image["delete_token"] is None
    ticket = upload_url(client, ada)
    assert body(ticket)["delete_token"] is None
    assert {item["id"] for item in mine(client, ada)["items"]} == {image["id"], body(ticket)["id"]}


def test_anonymous_upload_keeps_its_delete_token(client: Client) -> None:
    image = upload(client)
    assert image["delete_token"]
    assert (
        client.http.delete(
            f"/api/v1/images/{image['id']}", headers={"X-Delete-Token": image["delete_token"]}
        ).status_code
        == 204
    )


def test_owner_deletes_without_a_token(client: Client, ada: dict[str, str]) -> None:
    image = upload(client, ada)
    assert client.http.delete(f"/api/v1/images/{image['id']}", headers=ada).status_code == 204
    assert client.http.get(f"/api/v1/images/{image['id']}").status_code == 404
    assert mine(client, ada)["items"] == []


def test_another_user_gets_403_deleting_or_changing_my_image(
    client: Client, ada: dict[str, str], bob: dict[str, str]
) -> None:
    image = upload(client, ada)
    deleting = client.http.delete(f"/api/v1/images/{image['id']}", headers=bob)
    assert deleting.status_code == 403
    assert body(deleting) == envelope("FORBIDDEN", "You do not own this image.", {"id": image["id"]})
    changing = patch(client, image["id"], bob, "private")
    assert changing.status_code == 403
    assert body(changing) == envelope("FORBIDDEN", "You do not own this image.", {"id": image["id"]})
    anonymous = client.http.delete(f"/api/v1/images/{image['id']}")
    assert anonymous.status_code == 403
    assert client.http.get(f"/api/v1/images/{image['id']}").status_code == 200


def test_changing_visibility_needs_sign_in(client: Client, ada: dict[str, str]) -> None:
    image = upload(client, ada)
    response = patch(client, image["id"], None, "private")
    assert response.status_code == 401
    assert body(response) == envelope("AUTHENTICATION_REQUIRED", "Authentication is required.")


def test_patch_refuses_an_unknown_visibility(client: Client, ada: dict[str, str]) -> None:
    image = upload(client, ada)
    response = patch(client, image["id"], ada, "secret")
    assert response.status_code == 400
    assert body(response)["detail"]["code"] == "VALIDATION_ERROR"
    assert body(response)["detail"]["details"]["field"] == "visibility"


# --- visibility ------------------------------------------------------------------------------------


def test_private_image_is_404_to_everyone_but_its_owner(
    client: Client, ada: dict[str, str], bob: dict[str, str]
) -> None:
    image = upload(client, ada, visibility="private")
    assert image["visibility"] == "private"
    paths = [
        f"/api/v1/images/{image['id']}",
        f"/api/v1/images/{image['id']}/file",
        f"/api/v1/images/{image['id']}/thumbnail",
    ]
    for path in paths:
        assert client.http.get(path, headers=ada).status_code in {200, 302}, path
        for who in (bob, {}):
            response = client.http.get(path, headers=who)
            assert response.status_code == 404, (path, who)
            assert body(response) == envelope("IMAGE_NOT_FOUND", "Image not found.", {"id": image["id"]})
    assert image["id"] not in gallery_ids(client)


def test_making_an_image_private_hides_it_at_once_even_when_cached(
    client: Client, ada: dict[str, str], bob: dict[str, str]
) -> None:
    image = upload(client, ada)
    assert client.http.get(f"/api/v1/images/{image['id']}", headers=bob).status_code == 200
    assert image["id"] in gallery_ids(client)
    changed = patch(client, image["id"], ada, "private")
    assert changed.status_code == 200
    assert body(changed)["visibility"] == "private"
    assert client.http.get(f"/api/v1/images/{image['id']}", headers=bob).status_code == 404
    assert image["id"] not in gallery_ids(client)
    assert patch(client, image["id"], ada, "public").status_code == 200
    assert image["id"] in gallery_ids(client)


def test_unlisted_images_are_reachable_by_link_but_never_in_the_gallery(client: Client, ada: dict[str, str]) -> None:
    direct = upload(client, ada, visibility="unlisted")
    anonymous = upload(client, visibility="unlisted")
    later = upload(client, ada)
    assert patch(client, later["id"], ada, "unlisted").status_code == 200
    ids = gallery_ids(client)
    for image in (direct, anonymous, later):
        assert image["id"] not in ids
        assert client.http.get(f"/api/v1/images/{image['id']}").status_code == 200


def test_visibility_chosen_at_upload_url_survives_processing(client: Client, ada: dict[str, str]) -> None:
    ticket = body(upload_url(client, ada, visibility="unlisted", size=len(make_jpeg(320, 240))))
    boto3.client("s3").put_object(
        Bucket=get_settings().bucket_name, Key=f"originals/{ticket['id']}", Body=make_jpeg(320, 240)
    )
    assert drain_queue() == []
    meta = body(client.http.get(f"/api/v1/images/{ticket['id']}"))
    assert (meta["status"], meta["visibility"]) == ("ready", "unlisted")
    assert ticket["id"] not in gallery_ids(client)


def test_anonymous_private_upload_asks_for_sign_in(client: Client) -> None:
    response = upload_url(client, visibility="private")
    assert response.status_code == 401
    assert body(response) == envelope(
        "AUTHENTICATION_REQUIRED", "Sign in to upload private images.", {"field": "visibility"}
    )


def test_unknown_visibility_at_upload_is_a_validation_error(client: Client, ada: dict[str, str]) -> None:
    response = upload_url(client, ada, visibility="hidden")
    assert response.status_code == 400
    assert body(response)["detail"]["details"]["allowed"] == ["public", "unlisted", "private"]


# --- my images -------------------------------------------------------------------------------------


def test_my_images_pages_newest_first_and_only_mine(client: Client, ada: dict[str, str], bob: dict[str, str]) -> None:
    ids = [upload(client, ada, visibility=v)["id"] for v in ("public", "unlisted", "private", "public", "public")]
    upload(client, bob)
    upload(client)
    first = mine(client, ada, limit="2")
    second = mine(client, ada, limit="2", cursor=first["next_cursor"])
    third = mine(client, ada, limit="2", cursor=second["next_cursor"])
    listed = [item["id"] for page in (first, second, third) for item in page["items"]]
    assert listed == list(reversed(ids))
    assert third["next_cursor"] is None


def test_my_images_needs_sign_in(client: Client) -> None:
    response = client.http.get("/api/v1/users/me/images")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert body(response) == envelope("AUTHENTICATION_REQUIRED", "Authentication is required.")


# --- quotas ----------------------------------------------------------------------------------------


def usage(client: Client, auth: dict[str, str]) -> dict[str, int]:
    return dict(body(client.http.get("/api/v1/auth/me", headers=auth))["usage"])


def test_image_quota_is_403_quota_exceeded(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTA_MAX_IMAGES", "2")
    composition.reset()
    ada = sign_up(client, "ada")
    upload(client, ada)
    assert upload_url(client, ada).status_code == 201
    refused = upload_url(client, ada)
    assert refused.status_code == 403
    assert body(refused) == envelope(
        "QUOTA_EXCEEDED", "You have reached your image quota.", {"image_count": 2, "max_images": 2}
    )
    headers, payload = multipart(make_png())
    assert client.http.post("/api/v1/images/upload", headers={**headers, **ada}, body=payload).status_code == 403
    assert usage(client, ada)["image_count"] == 2
    # Deleting gives the slot back.
    first = mine(client, ada)["items"][0]["id"]
    assert client.http.delete(f"/api/v1/images/{first}", headers=ada).status_code == 204
    assert upload_url(client, ada).status_code == 201


def test_storage_quota_is_413_storage_quota_exceeded(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTA_MAX_BYTES", "5000")
    composition.reset()
    ada = sign_up(client, "ada")
    assert upload_url(client, ada, size=3000).status_code == 201
    refused = upload_url(client, ada, size=3000)
    assert refused.status_code == 413
    assert body(refused) == envelope(
        "STORAGE_QUOTA_EXCEEDED",
        "You have used all of your storage quota.",
        {"bytes_used": 3000, "size": 3000, "max_bytes": 5000},
    )
    assert usage(client, ada) == {"image_count": 1, "bytes_used": 3000}


def test_usage_counts_uploads_and_deletes(client: Client, ada: dict[str, str]) -> None:
    image = upload(client, ada)
    assert usage(client, ada) == {"image_count": 1, "bytes_used": image["file_size"]}
    client.http.delete(f"/api/v1/images/{image['id']}", headers=ada)
    assert usage(client, ada) == {"image_count": 0, "bytes_used": 0}


def test_anonymous_uploads_count_against_nobody(client: Client) -> None:
    upload(client)
    assert upload_url(client).status_code == 201


def test_upload_urls_that_never_arrive_give_their_quota_back_once_expired(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUOTA_MAX_IMAGES", "1")
    composition.reset()
    ada = sign_up(client, "ada")
    assert upload_url(client, ada).status_code == 201  # never uploaded
    assert body(upload_url(client, ada))["detail"]["code"] == "QUOTA_EXCEEDED"
    service = composition.image_service()
    later = service.clock() + service.settings.pending_ttl_seconds + 1
    monkeypatch.setattr(service, "clock", lambda: later)
    assert upload_url(client, ada).status_code == 201  # the refusal recounted, and the expired one is gone


def test_owner_gets_presigned_links_that_nobody_else_gets(
    client: Client, ada: dict[str, str], bob: dict[str, str]
) -> None:
    image = upload(client, ada, visibility="private")
    mine = body(client.http.get(f"/api/v1/images/{image['id']}", headers=ada))
    assert mine["is_owner"] is True
    links = mine["owner_links"]
    assert sorted(links["thumbnails"], key=int) == ["150", "300", "600"]
    assert "X-Amz-Signature=" in links["file"]
    assert links["expires_in"] == get_settings().download_url_expires_seconds
    listed = body(client.http.get("/api/v1/users/me/images", headers=ada))["items"][0]
    assert listed["owner_links"]["thumbnails"].keys() == links["thumbnails"].keys()
    assert patch(client, image["id"], ada, "unlisted").status_code == 200
    for viewer in (bob, {}):
        theirs = body(client.http.get(f"/api/v1/images/{image['id']}", headers=viewer))
        assert theirs["is_owner"] is False
        assert "owner_links" not in theirs


def test_processing_corrects_the_owners_bytes_from_the_claimed_to_the_real_size(
    client: Client, ada: dict[str, str]
) -> None:
    data = make_jpeg(320, 240)
    ticket = body(upload_url(client, ada, size=len(data) * 3))  # the claim is only an upper bound
    assert usage(client, ada)["bytes_used"] == len(data) * 3
    boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=f"originals/{ticket['id']}", Body=data)
    assert drain_queue() == []
    meta = body(client.http.get(f"/api/v1/images/{ticket['id']}", headers=ada))
    assert meta["status"] == "ready"
    assert usage(client, ada) == {"image_count": 1, "bytes_used": meta["file_size"]}


def test_quota_counters_never_go_below_zero(aws: None) -> None:
    store = composition.user_store()
    store.set_usage("drifted-user", image_count=1, bytes_used=100)
    store.release("drifted-user", size=5000)  # more bytes than counted: clamp, don't go negative
    assert usage_of(store, "drifted-user") == (0, 0)
    store.release("drifted-user", size=10)  # no image left to release
    assert usage_of(store, "drifted-user") == (0, 0)
    store.adjust_bytes("drifted-user", delta=-50)
    assert usage_of(store, "drifted-user") == (0, 0)
    store.adjust_bytes("drifted-user", delta=700)
    assert usage_of(store, "drifted-user") == (0, 700)
    store.release("nobody", size=10)  # an unknown user is not created by a release
    assert store.get("nobody") is None


def usage_of(store: Any, user_id: str) -> tuple[int, int]:
    user = store.get(user_id)
    assert user is not None
    return user.image_count, user.bytes_used


def test_the_owner_learns_an_upload_duplicates_one_of_their_images(
    client: Client, ada: dict[str, str], bob: dict[str, str]
) -> None:
    data = make_png()
    headers, payload = multipart(data)
    first = body(client.http.post("/api/v1/images/upload", headers={**headers, **ada}, body=payload))
    second = body(client.http.post("/api/v1/images/upload", headers={**headers, **ada}, body=payload))
    mine = body(client.http.get(f"/api/v1/images/{second['id']}", headers=ada))
    assert mine["duplicate_of"] == first["id"]
    assert "duplicate_of" not in body(client.http.get(f"/api/v1/images/{first['id']}", headers=ada))
    assert "duplicate_of" not in body(client.http.get(f"/api/v1/images/{second['id']}", headers=bob))
    # The same bytes from someone else are not a duplicate of Ada's (that would tell Bob what Ada uploaded).
    theirs = body(client.http.post("/api/v1/images/upload", headers={**headers, **bob}, body=payload))
    assert "duplicate_of" not in body(client.http.get(f"/api/v1/images/{theirs['id']}", headers=bob))


def test_presigned_duplicates_are_found_when_processed(client: Client, ada: dict[str, str]) -> None:
    data = make_jpeg(200, 100)
    ids = []
    for _ in range(2):
        ticket = body(upload_url(client, ada, size=len(data)))
        boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=f"originals/{ticket['id']}", Body=data)
        assert drain_queue() == []
        ids.append(ticket["id"])
    assert body(client.http.get(f"/api/v1/images/{ids[1]}", headers=ada))["duplicate_of"] == ids[0]
