"""Real camera files (tests/fixtures, see ATTRIBUTION.md) come out upright, with no location in served files."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image, ImageChops, ImageStat

from tests.conftest import FIXTURES
from tests.integration.conftest import Api

pytestmark = pytest.mark.integration


def fetch_image(api: Api, path: str) -> Image.Image:
    redirect = api.get(path)
    assert redirect.status_code == 302, redirect.text
    response = requests.get(redirect.headers["Location"], timeout=30)
    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean per-pixel difference of two greyscale images after evening out their brightness.

    landscape_1.jpg was exported about 13 levels brighter than 2..8, so raw differences mislead.
    """
    assert a.size == b.size

    def centred(image: Image.Image) -> Image.Image:
        grey = image.convert("L")
        offset = 128 - round(ImageStat.Stat(grey).mean[0])
        return grey.point(lambda value: max(0, min(255, value + offset)))

    return float(ImageStat.Stat(ImageChops.difference(centred(a), centred(b))).mean[0])


@pytest.fixture(scope="module")
def upright_reference(stack: object) -> dict[str, object]:
    api = Api(stack.api_url)  # type: ignore[attr-defined]
    ticket = api.direct_upload((FIXTURES / "landscape_1.jpg").read_bytes(), "landscape_1.jpg")
    meta = api.wait_until_processed(ticket["id"])
    return {"meta": meta, "thumb": fetch_image(api, f"/api/v1/images/{ticket['id']}/thumbnail?size=150")}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(
    api: Api, upright_reference: dict[str, object], orientation: int
) -> None:
    name = f"landscape_{orientation}.jpg"
    ticket = api.direct_upload((FIXTURES / name).read_bytes(), name)
    meta = api.wait_until_processed(ticket["id"])
    reference_meta = upright_reference["meta"]
    assert meta["status"] == "ready"
    assert (meta["width"], meta["height"]) == (reference_meta["width"], reference_meta["height"])  # type: ignore[index]
    thumb = fetch_image(api, f"/api/v1/images/{ticket['id']}/thumbnail?size=150")
    reference = upright_reference["thumb"]
    assert mean_difference(thumb, reference) < 12  # type: ignore[arg-type]
    # The check can tell orientations apart: a mirrored thumbnail is far off.
    mirrored = thumb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert mean_difference(mirrored, reference) > 2 * mean_difference(thumb, reference)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["Canon_40D.jpg", "BlueSquare.jpg"])
def test_real_camera_exif_and_xmp_files_are_processed(api: Api, name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    ticket = api.direct_upload(data, name)
    meta = api.wait_until_processed(ticket["id"])
    assert meta["status"] == "ready"
    served = fetch_image(api, f"/api/v1/images/{ticket['id']}/file")
    assert (meta["width"], meta["height"]) == (served.width, served.height) or meta["width"] == served.height
    assert not served.getexif().get_ifd(0x8825)
