"""HEIC through pillow-heif: upright, location erased in place (ICC and pixels untouched), a display rendition."""

from __future__ import annotations

import io

import pillow_heif
import pytest
from PIL import Image

from chalicelib import catalog, imaging
from chalicelib.imaging.exif import TAG_GPS_IFD
from tests.conftest import FIXTURES

HEIC = (FIXTURES / "IMG_5195.HEIC").read_bytes()
# These tests open HEICs with Pillow themselves; the pipeline registers the opener only with its first HEIC.
pillow_heif.register_heif_opener()
LIMITS = {"max_bytes": 50 * 1024 * 1024, "max_pixels": 50_000_000}


def process(data: bytes) -> imaging.ProcessedImage:
    return imaging.process(data, max_bytes=LIMITS["max_bytes"], max_pixels=LIMITS["max_pixels"])


@pytest.fixture(scope="module")
def processed() -> imaging.ProcessedImage:
    return process(HEIC)


def gps_of(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as im:
        return dict(im.getexif().get_ifd(TAG_GPS_IFD))


def test_the_fixture_really_carries_a_location() -> None:
    assert gps_of(HEIC)  # else the tests below would prove nothing


def test_heic_is_accepted_by_this_build() -> None:
    assert "HEIF" in catalog.accepted_format_names()
    assert {"image/heic", "image/heif"} <= catalog.accepted_mime_types()


def test_heic_is_processed_upright_with_thumbnails(processed: imaging.ProcessedImage) -> None:
    assert (processed.format, processed.content_type) == ("HEIF", "image/heic")
    assert (processed.width, processed.height) == (2566, 3313)  # portrait, as the phone held it
    assert {size: (t.width, t.height) for size, t in processed.thumbnails.items()} == {
        600: (465, 600),
        300: (232, 300),
        150: (116, 150),
    }


def test_served_original_has_no_location_but_keeps_icc_and_pixels(processed: imaging.ProcessedImage) -> None:
    served = processed.served.data
    assert len(served) == len(HEIC)  # erased in place: no offset moved
    assert gps_of(served) == {}
    with Image.open(io.BytesIO(served)) as after, Image.open(io.BytesIO(HEIC)) as before:
        assert after.info.get("icc_profile") == before.info.get("icc_profile")
        assert after.size == before.size
        assert b"GPS" not in (after.info.get("xmp") or b"")
        assert after.tobytes() == before.tobytes()  # the image items are untouched


def test_display_rendition_is_browser_safe_upright_and_bounded(processed: imaging.ProcessedImage) -> None:
    display = processed.display
    assert display is not None
    assert display.content_type in {"image/jpeg", "image/webp"}
    assert max(display.width, display.height) == catalog.DISPLAY_LONGEST_SIDE
    assert display.height > display.width
    with Image.open(io.BytesIO(display.data)) as im:
        assert im.format in {"JPEG", "WEBP"}
        assert im.size == (display.width, display.height)
        assert not im.getexif().get_ifd(TAG_GPS_IFD)
        assert im.info.get("icc_profile")  # colours stay right


def test_formats_browsers_show_get_no_display_rendition() -> None:
    from tests.conftest import make_jpeg

    assert process(make_jpeg(640, 480)).display is None


def test_ten_bit_heic_is_decoded_and_stays_ten_bit_in_the_served_copy() -> None:
    import pillow_heif

    source = io.BytesIO()
    pillow_heif.from_bytes("RGB;16", (64, 48), bytes(64 * 48 * 6)).save(source, quality=90)
    data = source.getvalue()
    assert pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False).info.get("bit_depth") == 10
    result = process(data)
    assert (result.width, result.height) == (64, 48)
    assert result.display is not None
    assert pillow_heif.open_heif(io.BytesIO(result.served.data), convert_hdr_to_8bit=False).info["bit_depth"] == 10
