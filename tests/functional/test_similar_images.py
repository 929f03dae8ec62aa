"""``GET /api/v1/users/me/images/{id}/similar``: my near-duplicates, nearest first, never anyone else's."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client
from PIL import Image, ImageOps

from chalicelib.services import similar
from tests.functional.conftest import body
from tests.functional.test_auth_routes import bearer, post
from tests.functional.test_ownership import envelope, multipart, sign_up

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PHOTO = (FIXTURES / "landscape_1.jpg").read_bytes()
OTHER_PHOTO = (FIXTURES / "DSCN0010.jpg").read_bytes()


def jpeg(im: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()


def copies() -> dict[str, bytes]:
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(PHOTO))).convert("RGB")
    w, h = im.size
    return {
        "resized": jpeg(im.resize((w // 2, h // 2), Image.Resampling.LANCZOS)),
        "recompressed": jpeg(im, quality=35),
        "cropped": jpeg(im.crop((round(w * 0.03), round(h * 0.03), w, h))),
    }


def upload(client: Client, auth: dict[str, str], data: bytes) -> str:
    headers, payload = multipart(data)
    response = client.http.post("/api/v1/images/upload", headers={**headers, **auth}, body=payload)
    assert response.status_code == 201, response.body
    return str(body(response)["id"])


def similar_to(client: Client, image_id: str, auth: dict[str, str], query: str = "") -> Any:
    return client.http.get(f"/api/v1/users/me/images/{image_id}/similar{query}", headers=auth)


@pytest.fixture
def ada(client: Client) -> dict[str, str]:
    return sign_up(client, "ada")


def test_my_resized_recompressed_and_cropped_copies_are_similar_nearest_first(
    client: Client, ada: dict[str, str]
) -> None:
    original = upload(client, ada, PHOTO)
    mine = {name: upload(client, ada, data) for name, data in copies().items()}
    different = upload(client, ada, OTHER_PHOTO)
    bob = sign_up(client, "bob")
    strangers_identical = upload(client, bob, PHOTO)

    response = similar_to(client, original, ada)
    assert response.status_code == 200, response.body
    found = body(response)
    ids = [item["id"] for item in found["items"]]
    assert set(ids) == set(mine.values())
    assert different not in ids
    assert strangers_identical not in ids
    assert original not in ids
    distances = [item["distance"] for item in found["items"]]
    assert distances == sorted(distances)
    assert all(0 <= d <= similar.SIMILAR_DISTANCE for d in distances)
    assert found["max_distance"] == similar.SIMILAR_DISTANCE
    assert found["compared"] == 4  # my other images, not bob's
    item = found["items"][0]
    assert item["thumbnail_url"].startswith("/api/v1/images/")
    assert item["links"]["page"]
    assert item["owner_links"]["thumbnails"]

    # Bob's view of his identical image lists nothing of mine.
    assert body(similar_to(client, strangers_identical, bob))["items"] == []


def test_max_distance_narrows_the_answer(client: Client, ada: dict[str, str]) -> None:
    original = upload(client, ada, PHOTO)
    upload(client, ada, copies()["cropped"])
    everything = body(similar_to(client, original, ada))["items"]
    exact = body(similar_to(client, original, ada, "?max_distance=0"))["items"]
    assert len(exact) <= len(everything)
    assert all(item["distance"] == 0 for item in exact)


@pytest.mark.parametrize("value", ["-1", str(similar.MAX_DISTANCE_LIMIT + 1), "ten", "1.5"])
def test_max_distance_out_of_bounds_is_a_validation_error(client: Client, ada: dict[str, str], value: str) -> None:
    original = upload(client, ada, PHOTO)
    response = similar_to(client, original, ada, f"?max_distance={value}")
    assert response.status_code == 400
    assert body(response)["detail"]["code"] == "VALIDATION_ERROR"
    assert body(response)["detail"]["details"]["field"] == "max_distance"


def test_someone_elses_image_and_a_missing_id_get_the_same_404(client: Client, ada: dict[str, str]) -> None:
    bob = sign_up(client, "bob")
    bobs = upload(client, bob, PHOTO)
    others = similar_to(client, bobs, ada)
    missing = similar_to(client, "0" * 32, ada)
    assert others.status_code == missing.status_code == 404
    assert body(others)["detail"]["code"] == body(missing)["detail"]["code"] == "IMAGE_NOT_FOUND"
    assert body(others)["detail"]["message"] == body(missing)["detail"]["message"]


def test_needs_sign_in(client: Client, ada: dict[str, str]) -> None:
    original = upload(client, ada, PHOTO)
    response = similar_to(client, original, {})
    assert response.status_code == 401
    assert body(response) == envelope("AUTHENTICATION_REQUIRED", "Authentication is required.")
    forged = similar_to(client, original, {"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401
    assert body(forged)["detail"]["code"] in {"INVALID_TOKEN", "TOKEN_EXPIRED"}


def test_an_upload_token_is_refused_and_a_read_token_allowed(client: Client, ada: dict[str, str]) -> None:
    original = upload(client, ada, PHOTO)
    tokens = {}
    for scope in ("upload", "read"):
        made = post(client, "/api/v1/users/me/tokens", {"name": scope, "scope": scope}, ada)
        assert made.status_code == 201, made.body
        tokens[scope] = bearer(body(made)["token"])
    refused = similar_to(client, original, tokens["upload"])
    assert refused.status_code == 403
    assert body(refused)["detail"]["code"] == "INSUFFICIENT_SCOPE"
    assert similar_to(client, original, tokens["read"]).status_code == 200


def test_a_pending_image_has_no_similar_images_yet(client: Client, ada: dict[str, str]) -> None:
    response = post(
        client, "/api/v1/images/upload-url", {"filename": "a.jpg", "content_type": "image/jpeg", "size": 1000}, ada
    )
    assert response.status_code == 201, response.body
    found = body(similar_to(client, body(response)["id"], ada))
    assert found["items"] == []
    assert found["compared"] == 0


def test_the_image_json_carries_its_blurhash(client: Client, ada: dict[str, str]) -> None:
    original = upload(client, ada, PHOTO)
    image = body(client.http.get(f"/api/v1/images/{original}", headers=ada))
    assert isinstance(image["blurhash"], str)
    assert image["blurhash"][0] == "L"  # 4x3 components: a landscape
