"""The perceptual hashes agree with imagehash bit for bit; the pipeline's hash and BlurHash follow the display."""

from __future__ import annotations

import io
from pathlib import Path

import blurhash as blurhash_lib
import imagehash
import pytest
from PIL import Image, ImageOps

from chalicelib.imaging import ProcessedImage, fingerprints, process
from chalicelib.services.similar import distance

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PHOTOS = sorted(p.name for p in FIXTURES.glob("*.jpg") if p.name != "corrupted.jpg")


def run(data: bytes) -> ProcessedImage:
    return process(data, max_bytes=50 * 1024 * 1024, max_pixels=100_000_000)


def opened(name: str) -> Image.Image:
    im = Image.open(FIXTURES / name)
    im.load()
    return im


@pytest.mark.parametrize("name", PHOTOS)
def test_dhash_is_imagehash_dhash_bit_for_bit(name: str) -> None:
    im = opened(name)
    assert fingerprints.dhash(im) == str(imagehash.dhash(im))


@pytest.mark.parametrize("name", PHOTOS)
def test_phash_is_imagehash_phash_bit_for_bit(name: str) -> None:
    im = opened(name)
    assert fingerprints.phash(im) == str(imagehash.phash(im))


@pytest.mark.parametrize("name", PHOTOS)
def test_the_stored_hash_is_within_three_bits_of_imagehash_on_the_upright_full_image(name: str) -> None:
    """The pipeline hashes its small upright intermediate (<= 128 px), not the full image: measured at most 3 bits
    apart on every fixture (docs/adr/0014)."""
    processed = run((FIXTURES / name).read_bytes())
    reference = str(imagehash.dhash(ImageOps.exif_transpose(opened(name))))
    assert len(processed.dhash) == 16
    assert distance(processed.dhash, reference) <= 3


def test_every_exif_orientation_of_one_scene_hashes_alike() -> None:
    """landscape_1..8 store one scene with EXIF orientations 1..8: the hash is of what people see."""
    hashes = [run((FIXTURES / f"landscape_{n}.jpg").read_bytes()).dhash for n in range(1, 9)]
    # Each file is its own JPEG encoding of the scene (not a lossless rotation): measured at most 4 bits apart.
    assert max(distance(hashes[0], h) for h in hashes) <= 4
    # Without the orientation the stored pixels of 6 (rotated a quarter turn) are another picture.
    assert distance(hashes[0], fingerprints.dhash(opened("landscape_6.jpg"))) > 12


def test_a_copy_rotated_in_its_pixels_hashes_like_one_rotated_by_exif() -> None:
    upright = ImageOps.exif_transpose(opened("landscape_6.jpg"))
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=90)
    assert (
        distance(
            run(out.getvalue()).dhash,
            run((FIXTURES / "landscape_6.jpg").read_bytes()).dhash,
        )
        <= 3
    )


def test_blurhash_round_trips_to_the_image_colours_and_shape() -> None:
    im = Image.new("RGB", (300, 200), (200, 30, 40))
    im.paste((20, 40, 220), (150, 0, 300, 200))  # left red, right blue
    code = fingerprints.blurhash(im)
    assert len(code) == 6 + 2 * (4 * 3 - 1)  # 1 size flag + 1 max AC + 4 DC + 2 per AC component
    assert code[0] == "L"  # base83 of (4 - 1) + (3 - 1) * 9 = 21: 4x3 components
    pixels = blurhash_lib.decode(code, 30, 20)
    left, right = pixels[10][3], pixels[10][26]
    assert left[0] > left[2]
    assert right[2] > right[0]


def test_a_portrait_gets_more_vertical_components() -> None:
    code = fingerprints.blurhash(Image.new("RGB", (100, 300), (9, 9, 9)))
    assert code[0] == "T"  # base83 of (3 - 1) + (4 - 1) * 9 = 29: 3x4 components
    assert len(code) == 6 + 2 * (3 * 4 - 1)


@pytest.mark.parametrize(
    "mode", ["1", "L", "LA", "La", "P", "PA", "RGBA", "RGBa", "CMYK", "YCbCr", "HSV", "LAB", "I", "F"]
)
def test_fingerprints_take_every_mode_pillow_can_decode_to(mode: str) -> None:
    im = Image.new("RGB", (64, 48), (120, 60, 30)).convert(mode)
    marks = fingerprints.fingerprints(im, Image.Transpose.ROTATE_90)
    assert len(marks.dhash) == 16
    assert marks.blurhash[0] == "T"  # rotated a quarter turn: a portrait


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I;16L"])
def test_sixteen_bit_images_are_scaled_not_clipped(mode: str) -> None:
    dark, bright = Image.new(mode, (64, 48), 4000), Image.new(mode, (64, 48), 60000)
    assert fingerprints.blurhash(dark) != fingerprints.blurhash(bright)  # clipped at 255 both would be white


def test_the_pipeline_carries_both_fingerprints() -> None:
    processed = run((FIXTURES / "DSCN0010.jpg").read_bytes())
    assert len(processed.dhash) == 16
    assert int(processed.dhash, 16) >= 0
    assert 20 <= len(processed.blurhash) <= 30
