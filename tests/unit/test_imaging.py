"""chalicelib.imaging: validation by content, orientation, thumbnails, location stripping, error translation.

Real camera files live in tests/fixtures (see ATTRIBUTION.md there); everything else is made with Pillow here.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat, UnidentifiedImageError

from chalicelib import imaging
from chalicelib.errors import InvalidImage, RejectReason
from chalicelib.imaging import pipeline

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MAX_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 50_000_000
GPS_IFD = 0x8825
TAG_MAKE, TAG_MODEL, TAG_ORIENTATION = 0x010F, 0x0110, 0x0112
XMP_NAMESPACE = b"http://ns.adobe.com/xap/1.0/"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run(data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> imaging.ProcessedImage:
    return imaging.process(data, max_bytes=max_bytes, max_pixels=max_pixels)


def rejection(data: bytes, **kwargs: int) -> RejectReason:
    with pytest.raises(InvalidImage) as info:
        run(data, **kwargs)
    return info.value.reason


def photo(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Busy content (gradients and shapes), so compression and resampling have something to work on."""
    w, h = size
    across = Image.linear_gradient("L").resize((h, w)).transpose(Image.Transpose.ROTATE_90)
    down = Image.linear_gradient("L").resize(size)
    im = Image.merge("RGB", (across, down, Image.new("L", size, 90)))
    draw = ImageDraw.Draw(im)
    draw.ellipse((w // 4, h // 4, w * 3 // 4, h * 3 // 4), fill=(200, 30, 30))
    draw.rectangle((0, 0, w // 8, h // 8), fill=(20, 200, 20))
    return im.convert(mode) if mode != "RGB" else im


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def mean_abs_diff(a: Image.Image, b: Image.Image, *, same_exposure: bool = True) -> float:
    """Mean absolute RGB difference; ``same_exposure=False`` first evens out each channel's mean."""
    a, b = a.convert("RGB"), b.convert("RGB")
    assert a.size == b.size
    if not same_exposure:
        shifts = [ma - mb for ma, mb in zip(ImageStat.Stat(a).mean, ImageStat.Stat(b).mean, strict=True)]
        b = Image.merge("RGB", [ch.point(lambda v, d=d: v + d) for ch, d in zip(b.split(), shifts, strict=True)])
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_claiming(width: int, height: int) -> bytes:
    """A ~60-byte PNG whose IHDR claims width x height (1-bit grey), one tiny IDAT: a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[TAG_MAKE] = "TestCam"
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    return exif


# --- orientation ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def orientation_1() -> imaging.ProcessedImage:
    return run(fixture_bytes("landscape_1.jpg"))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_n_reports_upright_dimensions(orientation: int) -> None:
    result = run(fixture_bytes(f"landscape_{orientation}.jpg"))
    assert (result.width, result.height) == (600, 450)
    assert (result.served.width, result.served.height) == (600, 450)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_n_thumbnail_is_upright(orientation: int, orientation_1: imaging.ProcessedImage) -> None:
    result = run(fixture_bytes(f"landscape_{orientation}.jpg"))
    for size in imaging.THUMBNAIL_SIZES:
        thumb, reference = decode(result.thumbnails[size].data), decode(orientation_1.thumbnails[size].data)
        assert thumb.size == reference.size
        # landscape_1 was exported differently (Photoshop, no ICC) and is ~13 levels brighter than 2..8, so
        # exposure is evened out first. Then the right orientation differs by ~8 (separate JPEG encodes); a
        # mirrored one by far more, which the second assertion proves so the first one means something.
        assert mean_abs_diff(thumb, reference, same_exposure=False) < 12
        mirrored = thumb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        assert mean_abs_diff(mirrored, reference, same_exposure=False) > 25


def test_portrait_stored_as_landscape_with_orientation_6_reports_portrait() -> None:
    exif = Image.Exif()
    exif[TAG_ORIENTATION] = 6
    data = encode(photo((1600, 1200)), "JPEG", exif=exif.tobytes())
    result = run(data)
    assert (result.width, result.height) == (1200, 1600)
    assert {s: (t.width, t.height) for s, t in result.thumbnails.items()} == {
        600: (450, 600),
        300: (225, 300),
        150: (112, 150),
    }
    assert decode(result.thumbnails[600].data).size == (450, 600)


# --- served copy: location removed ----------------------------------------------------------------


def test_dscn0010_served_copy_has_no_gps_but_keeps_camera_exif() -> None:
    original = fixture_bytes("DSCN0010.jpg")
    assert dict(decode(original).getexif().get_ifd(GPS_IFD)), "fixture should carry GPS"
    served = decode(run(original).served.data)
    exif = served.getexif()
    assert dict(exif.get_ifd(GPS_IFD)) == {}
    assert GPS_IFD not in exif
    assert exif[TAG_MAKE].startswith("NIKON")
    assert exif[TAG_MODEL].startswith("COOLPIX")
    assert dict(exif.get_ifd(0x8769)), "the Exif sub-IFD (exposure and the like) is kept"


def test_dscn0010_served_copy_has_no_xmp() -> None:
    original = fixture_bytes("DSCN0010.jpg")
    assert XMP_NAMESPACE in original, "fixture should carry XMP"
    served = run(original).served.data
    assert XMP_NAMESPACE not in served
    assert not decode(served).info.get("xmp")


@pytest.mark.parametrize("name", ["DSCN0010.jpg", "BlueSquare.jpg", "landscape_1.jpg", "Canon_40D.jpg"])
def test_served_jpeg_pixels_are_identical_to_the_original(name: str) -> None:
    original = fixture_bytes(name)
    served = run(original).served
    assert served.content_type == "image/jpeg"
    assert served.extension == "jpg"
    assert decode(served.data).tobytes() == decode(original).tobytes()


def test_served_jpeg_keeps_icc_profile_and_orientation() -> None:
    blue = fixture_bytes("BlueSquare.jpg")
    assert decode(run(blue).served.data).info["icc_profile"] == decode(blue).info["icc_profile"]
    exif = Image.Exif()
    exif[TAG_ORIENTATION] = 6
    exif[GPS_IFD] = {1: "N", 2: (1.0, 2.0, 3.0)}
    served = decode(run(encode(photo((320, 240)), "JPEG", exif=exif.tobytes())).served.data).getexif()
    assert served[TAG_ORIENTATION] == 6
    assert GPS_IFD not in served


def test_served_jpeg_without_location_metadata_is_the_uploaded_bytes() -> None:
    original = fixture_bytes("landscape_6.jpg")  # JFIF, ICC and an Exif without GPS
    assert run(original).served.data == original


def test_served_jpeg_drops_data_after_the_image() -> None:
    # MPO secondary images and vendor trailers sit after EOI and can carry their own EXIF with GPS.
    original = encode(photo((64, 48)), "JPEG")
    served = run(original + b"\xff\xd8\xff\xe1trailer with GPS").served.data
    assert served == original


def test_served_png_drops_exif_and_xmp_keeps_pixels() -> None:
    im = photo((200, 100), "RGBA")
    data = encode(im, "PNG", exif=gps_exif(), pnginfo=_pnginfo_with_xmp())
    assert decode(data).getexif().get_ifd(GPS_IFD)
    served = decode(run(data).served.data)
    assert dict(served.getexif()) == {}
    assert "XML:com.adobe.xmp" not in served.info
    assert not served.info.get("xmp")
    assert served.tobytes() == im.tobytes()


def _pnginfo_with_xmp() -> object:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta><exif:GPSLatitude>48,51N</exif:GPSLatitude></x:xmpmeta>")
    info.add_text("Title", "kept")
    return info


def test_served_webp_drops_exif_and_xmp_keeps_pixels() -> None:
    im = photo((200, 100))
    xmp = b"<x:xmpmeta><exif:GPSLatitude>48,51N</exif:GPSLatitude></x:xmpmeta>"
    data = encode(im, "WEBP", lossless=True, exif=gps_exif(), xmp=xmp)
    assert decode(data).getexif().get_ifd(GPS_IFD)
    served_bytes = run(data).served.data
    served = decode(served_bytes)
    assert dict(served.getexif()) == {}
    assert not served.info.get("xmp")
    assert b"GPSLatitude" not in served_bytes
    assert served.tobytes() == im.tobytes()


def test_served_gif_drops_xmp_keeps_frames() -> None:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    xmp_ext = b"\x21\xff\x0bXMP DataXMP<x:xmpmeta>GPS</x:xmpmeta>" + bytes(range(255, -1, -1)) + b"\x00"
    with_xmp = data[:-1] + xmp_ext + data[-1:]  # before the trailer, where Photoshop puts it
    served = run(with_xmp).served.data
    assert served == data
    assert getattr(decode(served), "n_frames", 1) == 3


# --- thumbnails --------------------------------------------------------------------------------------


def test_large_image_thumbnails_have_longest_sides_600_300_150() -> None:
    result = run(encode(photo((4000, 3000)), "JPEG", quality=90))
    assert {s: (t.width, t.height) for s, t in result.thumbnails.items()} == {
        600: (600, 450),
        300: (300, 225),
        150: (150, 112),
    }
    for size, thumb in result.thumbnails.items():
        assert decode(thumb.data).size == (thumb.width, thumb.height)
        assert max(thumb.width, thumb.height) == size
        assert (thumb.content_type, thumb.extension) == ("image/jpeg", "jpg")


def test_thumbnails_look_like_the_original() -> None:
    im = photo((3000, 2000))
    thumb = decode(run(encode(im, "JPEG", quality=95)).thumbnails[300].data)
    assert mean_abs_diff(thumb, im.resize(thumb.size, Image.Resampling.LANCZOS)) < 3


def test_small_image_is_not_upscaled() -> None:
    result = run(encode(photo((100, 80)), "PNG"))
    assert all((t.width, t.height) == (100, 80) for t in result.thumbnails.values())
    assert all(decode(t.data).size == (100, 80) for t in result.thumbnails.values())


def test_canon_40d_processes_and_is_not_upscaled() -> None:
    result = run(fixture_bytes("Canon_40D.jpg"))
    assert (result.format, result.width, result.height) == ("JPEG", 100, 68)
    assert all((t.width, t.height) == (100, 68) for t in result.thumbnails.values())


def test_thumbnails_carry_no_exif_or_xmp() -> None:
    for thumb in run(fixture_bytes("DSCN0010.jpg")).thumbnails.values():
        im = decode(thumb.data)
        assert dict(im.getexif()) == {}
        assert "exif" not in im.info
        assert XMP_NAMESPACE not in thumb.data


def test_png_with_alpha_keeps_alpha_in_thumbnails() -> None:
    im = Image.new("RGBA", (1200, 800), (0, 0, 255, 0))
    ImageDraw.Draw(im).ellipse((300, 200, 900, 600), fill=(255, 0, 0, 255))
    for thumb in run(encode(im, "PNG")).thumbnails.values():
        assert (thumb.content_type, thumb.extension) == ("image/webp", "webp")
        decoded = decode(thumb.data)
        assert decoded.mode == "RGBA"
        low, high = decoded.getchannel("A").getextrema()
        assert (low, high) == (0, 255)


def test_gif_with_transparent_index_keeps_alpha_in_thumbnails() -> None:
    im = Image.new("P", (64, 64), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    ImageDraw.Draw(im).rectangle((16, 16, 48, 48), fill=1)
    thumb = run(encode(im, "GIF", transparency=0)).thumbnails[150]
    assert decode(thumb.data).getchannel("A").getextrema() == (0, 255)


def test_animated_gif_thumbnails_show_the_first_frame() -> None:
    frames = [Image.new("RGB", (320, 240), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    result = run(data)
    assert (result.format, result.content_type, result.width, result.height) == ("GIF", "image/gif", 320, 240)
    red, green, blue = decode(result.thumbnails[150].data).convert("RGB").getpixel((75, 56))  # type: ignore[misc]
    assert (red > 200, green < 50, blue < 50) == (True, True, True)


def test_animated_webp_processes_with_first_frame_thumbnails() -> None:
    frames = [Image.new("RGB", (320, 240), colour) for colour in ((0, 0, 255), (0, 255, 0))]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=80, lossless=True)
    result = run(data)
    assert (result.format, result.content_type) == ("WEBP", "image/webp")
    red, green, blue = decode(result.thumbnails[300].data).convert("RGB").getpixel((150, 100))  # type: ignore[misc]
    assert (red < 50, green < 50, blue > 200) == (True, True, True)


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    im = Image.linear_gradient("L").resize((512, 256)).convert("I").point(lambda v: v * 257).convert("I;16")
    assert im.getextrema() == (0, 65535)
    thumb = decode(run(encode(im, "PNG")).thumbnails[300].data).convert("L")
    extrema = thumb.getextrema()
    low, high = extrema  # one band: (low, high)
    assert isinstance(low, int | float)
    assert isinstance(high, int | float)
    assert low < 10
    assert high > 245


def test_custom_sizes_are_honoured() -> None:
    result = imaging.process(
        encode(photo((1000, 500)), "JPEG"), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS, sizes=(64, 400)
    )
    assert {s: (t.width, t.height) for s, t in result.thumbnails.items()} == {64: (64, 32), 400: (400, 200)}


def test_result_describes_the_upload() -> None:
    import hashlib

    data = encode(photo((300, 200)), "PNG")
    result = run(data)
    assert (result.format, result.content_type, result.width, result.height) == ("PNG", "image/png", 300, 200)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert (result.served.content_type, result.served.extension) == ("image/png", "png")
    assert result.served.data == data


# --- rejections ----------------------------------------------------------------------------------------


def test_zero_bytes_is_empty_file() -> None:
    assert rejection(b"") is RejectReason.EMPTY_FILE


def test_file_over_max_bytes_is_too_large() -> None:
    data = encode(photo((200, 200)), "JPEG")
    assert rejection(data, max_bytes=len(data) - 1) is RejectReason.TOO_LARGE
    assert run(data, max_bytes=len(data)).format == "JPEG"


def test_size_is_checked_before_content() -> None:
    assert rejection(b"hello, world", max_bytes=5) is RejectReason.TOO_LARGE


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"just some text\n", id="text"),
        pytest.param(b"<!DOCTYPE html><html><body><img src=x></body></html>", id="html"),
        pytest.param(
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>',
            id="svg",
        ),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', id="bare-svg"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", id="pdf"),
        pytest.param(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", id="mp4"),
        pytest.param(b"\x7fELF\x02\x01\x01" + b"\x00" * 32, id="binary"),
    ],
)
def test_non_image_content_is_not_an_image(data: bytes) -> None:
    assert rejection(data) is RejectReason.NOT_AN_IMAGE


def test_heic_from_an_iphone_is_accepted() -> None:
    # Issue 12: HEIC (the iPhone's default) goes through pillow-heif; tests/unit/test_heif.py has the details.
    assert run(fixture_bytes("IMG_5195.HEIC")).format == "HEIF"


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO", "PSD"])
def test_other_image_formats_are_unsupported_format(fmt: str) -> None:
    # Pillow cannot write PSD; the magic bytes are what count.
    data = b"8BPS\x00\x01" + b"\x00" * 40 if fmt == "PSD" else encode(photo((64, 64)), fmt)
    assert rejection(data) is RejectReason.UNSUPPORTED_FORMAT


def test_image_named_and_typed_as_jpeg_but_made_of_html_is_not_an_image() -> None:
    # There is no name or content type to pass: process() sees bytes only, by design.
    assert rejection(b"<html>\xff\xd8\xff</html>") is RejectReason.NOT_AN_IMAGE


def test_corrupted_camera_jpeg_is_refused() -> None:
    assert rejection(fixture_bytes("corrupted.jpg")) in (RejectReason.CORRUPT, RejectReason.TRUNCATED)


def test_jpeg_cut_in_half_is_truncated() -> None:
    data = encode(photo((800, 600)), "JPEG", quality=90)
    assert rejection(data[: len(data) // 2]) is RejectReason.TRUNCATED


def test_jpeg_cut_inside_its_headers_is_truncated() -> None:
    assert rejection(encode(photo((80, 60)), "JPEG")[:100]) is RejectReason.TRUNCATED


def test_png_cut_in_half_is_truncated() -> None:
    data = encode(photo((800, 600)), "PNG")
    assert rejection(data[: len(data) // 2]) is RejectReason.TRUNCATED


def test_jpeg_with_a_spliced_region_is_corrupt() -> None:
    data = bytearray(encode(photo((800, 600)), "JPEG", quality=90))
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff\xd8" + b"\xaa" * 62  # an SOI in the middle of the entropy-coded data
    assert rejection(bytes(data)) is RejectReason.CORRUPT


def test_png_with_damaged_pixel_data_is_corrupt() -> None:
    data = bytearray(encode(photo((200, 200)), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 4 : idat + 40] = b"\x00" * 36  # the zlib stream, its CRC now wrong too
    assert rejection(bytes(data)) is RejectReason.CORRUPT


def test_garbage_after_valid_magic_is_corrupt() -> None:
    assert rejection(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100) in (RejectReason.CORRUPT, RejectReason.TRUNCATED)


def test_decompression_bomb_png_is_too_many_pixels() -> None:
    bomb = png_claiming(100_000, 100_000)
    assert len(bomb) < 100
    assert rejection(bomb) is RejectReason.TOO_MANY_PIXELS


def test_pixel_bound_is_checked_from_the_header_before_decoding() -> None:
    # 4000x3000 is well under Pillow's own limit, so this is our max_pixels at work; the IDAT could never fill
    # 12 MP, so reaching the decoder would say TRUNCATED or CORRUPT instead.
    assert rejection(png_claiming(4000, 3000), max_pixels=10_000_000) is RejectReason.TOO_MANY_PIXELS


def test_real_compressed_bomb_is_too_many_pixels() -> None:
    data = encode(Image.new("1", (8000, 8000)), "PNG")  # 64 MP of zeros compresses to a few KiB
    assert len(data) < 50_000
    assert rejection(data, max_pixels=MAX_PIXELS) is RejectReason.TOO_MANY_PIXELS


def test_image_at_exactly_max_pixels_is_accepted() -> None:
    assert run(encode(photo((100, 50)), "PNG"), max_pixels=5000).width == 100


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (Image.DecompressionBombError("too big"), RejectReason.TOO_MANY_PIXELS),
        (Image.DecompressionBombWarning("too big"), RejectReason.TOO_MANY_PIXELS),
        (UnidentifiedImageError("cannot identify image file"), RejectReason.CORRUPT),
        (OSError("image file is truncated (3 bytes not processed)"), RejectReason.TRUNCATED),
        (OSError("broken data stream when reading image file"), RejectReason.CORRUPT),
        (OSError("decoder error -2"), RejectReason.CORRUPT),
        (EOFError("no more images"), RejectReason.TRUNCATED),
        (SyntaxError("broken PNG file"), RejectReason.CORRUPT),
        (ValueError("buffer is not large enough"), RejectReason.CORRUPT),
        (struct.error("unpack requires a buffer of 4 bytes"), RejectReason.CORRUPT),
        (IndexError("tuple index out of range"), RejectReason.CORRUPT),
        (KeyError("tRNS"), RejectReason.CORRUPT),
        (ZeroDivisionError("division by zero"), RejectReason.CORRUPT),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_every_pillow_exception_becomes_invalid_image(
    monkeypatch: pytest.MonkeyPatch, error: BaseException, reason: RejectReason
) -> None:
    def failing_open(data: bytes, fmt: str, deadline: float) -> Image.Image:
        raise error

    monkeypatch.setattr(pipeline, "_open", failing_open)
    with pytest.raises(InvalidImage) as info:
        run(encode(photo((16, 16)), "PNG"))
    assert info.value.reason is reason
    assert info.value.__cause__ is error
    assert info.value.details == {"reason": str(reason)}


def test_invalid_sizes_are_a_caller_error_not_a_bad_file() -> None:
    with pytest.raises(ValueError, match="sizes"):
        imaging.process(b"\xff\xd8\xff", max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS, sizes=(0,))


# --- sniff -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (b"GIF89a\x01\x00", "GIF"),
        (b"GIF87a\x01\x00", "GIF"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "WEBP"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "AVIF"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIF"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "HEIF"),
        (b"BM6\x00\x00\x00", "BMP"),
        (b"II*\x00\x08\x00", "TIFF"),
        (b"\x00\x00\x01\x00\x01\x00", "ICO"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"<svg", None),
        (b"", None),
    ],
)
def test_sniff_names_formats_by_magic_bytes(head: bytes, expected: str | None) -> None:
    assert imaging.sniff(head) == expected


def test_allowed_formats_are_the_four_web_formats_plus_heic_and_avif_when_available() -> None:
    everything = {"JPEG", "PNG", "GIF", "WEBP", "AVIF", "HEIF"}
    assert {"JPEG", "PNG", "GIF", "WEBP", "HEIF"} <= imaging.ALLOWED_FORMATS <= everything


@pytest.mark.skipif("AVIF" not in imaging.ALLOWED_FORMATS, reason="this Pillow build cannot decode AVIF")
def test_avif_with_gps_is_served_re_encoded_without_it_and_thumbnailed() -> None:
    im = photo((640, 480))
    data = encode(im, "AVIF", exif=gps_exif(), quality=80)
    assert decode(data).getexif().get_ifd(GPS_IFD)
    processed = run(data)
    assert (processed.format, processed.content_type, processed.served.extension) == ("AVIF", "image/avif", "avif")
    assert (processed.width, processed.height) == (640, 480)
    served = decode(processed.served.data)
    assert not served.getexif().get_ifd(GPS_IFD)
    assert served.size == (640, 480)
    assert {size: max(r.width, r.height) for size, r in processed.thumbnails.items()} == {600: 600, 300: 300, 150: 150}


@pytest.mark.skipif("AVIF" not in imaging.ALLOWED_FORMATS, reason="this Pillow build cannot decode AVIF")
def test_avif_without_metadata_is_served_as_uploaded() -> None:
    data = encode(photo((320, 240)), "AVIF", quality=80)
    assert run(data).served.data == data
