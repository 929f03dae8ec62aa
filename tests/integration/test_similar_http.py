"""Near-duplicates over HTTP against the running stack: two related uploads, processed, found by /similar."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image, ImageOps

from tests.conftest import FIXTURES
from tests.integration.conftest import Api

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


def signed_in(api: Api) -> Api:
    email = f"similar-{uuid.uuid4().hex[:10]}@example.com"
    response = api.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    own = Api(api.base_url)
    own.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return own


def test_a_recompressed_smaller_copy_of_my_photo_is_listed_as_similar(api: Api) -> None:
    me = signed_in(api)
    photo = (FIXTURES / "DSCN0010.jpg").read_bytes()
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(photo))).convert("RGB")
    im.thumbnail((320, 320))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=50)

    first = me.direct_upload(photo, "DSCN0010.jpg")
    second = me.direct_upload(out.getvalue(), "copy.jpg")
    original = me.wait_until_processed(first["id"])
    copy = me.wait_until_processed(second["id"])
    assert original["status"] == copy["status"] == "ready"
    assert isinstance(original["blurhash"], str)

    response = me.get(f"/api/v1/users/me/images/{first['id']}/similar")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["id"] for item in items] == [second["id"]]
    assert 0 <= items[0]["distance"] <= response.json()["max_distance"]

    # Someone else asking about my image learns nothing: the answer of a missing id.
    stranger = signed_in(api)
    refused = stranger.get(f"/api/v1/users/me/images/{first['id']}/similar")
    assert refused.status_code == 404
    assert refused.json()["detail"]["code"] == "IMAGE_NOT_FOUND"
