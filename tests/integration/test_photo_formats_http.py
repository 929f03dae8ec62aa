"""Every photo people take gets in (issue 12): an iPhone HEIC and an AVIF, over HTTP against the running stack.

Each becomes ready with upright dimensions and thumbnails; the direct link serves a display rendition browsers
can show; nothing served (display, thumbnails, the owner's original) carries a location.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
import requests
from PIL import Image

from tests.conftest import FIXTURES
from tests.http_api import Api

pytestmark = pytest.mark.integration

GPS_IFD = 0x8825


def gps_of(data: bytes) -> dict[Any, Any]:
    import pillow_heif

    pillow_heif.register_heif_opener()
    with Image.open(io.BytesIO(data)) as im:
        return dict(im.getexif().get_ifd(GPS_IFD))


def signed_in(api: Api) -> dict[str, str]:
    email = f"photos-{uuid.uuid4().hex[:10]}@example.com"
    response = api.post("/api/v1/auth/register", json={"email": email, "password": "correct horse battery"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def upload(api: Api, data: bytes, filename: str, content_type: str, headers: dict[str, str]) -> dict[str, Any]:
    response = api.post(
        "/api/v1/images/upload-url",
        json={"filename": filename, "content_type": content_type, "size": len(data)},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    form = ticket["upload"]
    posted = requests.post(form["url"], data=form["fields"], files={"file": (filename, data, content_type)}, timeout=60)
    assert posted.status_code == 204, posted.text
    return dict(api.wait_until_processed(ticket["id"], timeout=120))


def fetch(api: Api, path: str, headers: dict[str, str] | None = None) -> requests.Response:
    redirect = api.get(path, headers=headers or {})
    assert redirect.status_code == 302, redirect.text
    response = requests.get(redirect.headers["Location"], timeout=60)
    assert response.status_code == 200
    return response


def test_iphone_heic_becomes_ready_upright_with_a_display_rendition_and_no_location(api: Api) -> None:
    data = (FIXTURES / "IMG_5195.HEIC").read_bytes()
    assert gps_of(data)  # the fixture has a location to lose
    owner = signed_in(api)
    meta = upload(api, data, "IMG_5195.HEIC", "image/heic", owner)
    assert meta["status"] == "ready", meta
    assert (meta["width"], meta["height"]) == (2566, 3313)
    assert meta["has_display"] is True
    assert sorted(meta["thumbnails"], key=int) == ["150", "300", "600"]

    shown = fetch(api, meta["url"])
    assert shown.headers["Content-Type"] in {"image/jpeg", "image/webp"}
    with Image.open(io.BytesIO(shown.content)) as im:
        assert im.height > im.width
        assert max(im.size) <= 2560
    for body in [shown.content, *(fetch(api, url).content for url in meta["thumbnails"].values())]:
        assert gps_of(body) == {}

    original = fetch(api, meta["original_url"], owner)
    assert original.content[4:8] == b"ftyp"
    assert gps_of(original.content) == {}
    stranger = api.get(meta["original_url"])
    assert stranger.status_code == 403


def test_avif_gets_a_display_rendition_too(api: Api) -> None:
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    buffer = io.BytesIO()
    with Image.open(FIXTURES / "landscape_6.jpg") as photo:
        photo.convert("RGB").save(buffer, "AVIF", quality=70, exif=exif)
    meta = upload(api, buffer.getvalue(), "photo.avif", "image/avif", signed_in(api))
    assert meta["status"] == "ready", meta
    assert meta["has_display"] is True
    shown = fetch(api, meta["url"])
    assert shown.headers["Content-Type"] in {"image/jpeg", "image/webp"}
    assert gps_of(shown.content) == {}
    assert meta["thumbnail_ready"] is True
