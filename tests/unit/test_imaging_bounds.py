"""Bounds during parsing and decoding, what each container's served copy keeps, and the published hash.

Issue 11, items 1 (unbounded work from small files), 4 (location and trailing data in served PNG/GIF/WebP) and 8
(valid photos refused: a Photoshop APP13 with a wrong length). Files are built with Pillow here; the wider
hostile corpus is ``tests/unit/test_hostile_corpus.py``.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import time
import zlib
from collections.abc import Mapping

import pytest
from PIL import Image

from chalicelib import imaging
from chalicelib.errors import InvalidImage, RejectReason
from chalicelib.imaging import bounds
from tests.conftest import FIXTURES

MAX_BYTES, MAX_PIXELS = 50 * 1024 * 1024, 50_000_000


def run(data: bytes, **kwargs: float) -> imaging.ProcessedImage:
    return imaging.process(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS, **kwargs)  # type: ignore[arg-type]


def rejection(data: bytes, **kwargs: float) -> RejectReason:
    with pytest.raises(InvalidImage) as info:
        run(data, **kwargs)
    return info.value.reason


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def photo(size: tuple[int, int] = (320, 240)) -> Image.Image:
    with Image.open(FIXTURES / "jolla.jpg") as im:
        im.draft("RGB", size)
        return im.convert("RGB").resize(size)


def progressive_with_scans(total: int) -> bytes:
    """A progressive JPEG with ``total`` scans: its own, then its cheapest refinement scan repeated."""
    data = encode(Image.new("RGB", (64, 64), (120, 130, 140)), "JPEG", progressive=True)
    starts = [m.start() for m in re.finditer(rb"\xff\xda", data)]
    end = data.rindex(b"\xff\xd9")
    scans = [data[s : (starts[i + 1] if i + 1 < len(starts) else end)] for i, s in enumerate(starts)]
    assert total >= len(scans)
    return data[:end] + min(scans[1:], key=len) * (total - len(scans)) + data[end:]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_with(data: bytes, *chunks: bytes) -> bytes:
    at = data.index(b"IDAT") - 4
    return data[:at] + b"".join(chunks) + data[at:]


# --- JPEG: scans, segments, restart markers, the APP13 resync ----------------------------------------------


def test_a_progressive_jpeg_at_the_scan_bound_is_accepted() -> None:
    assert run(progressive_with_scans(bounds.MAX_JPEG_SCANS)).format == "JPEG"


def test_a_progressive_jpeg_repeating_its_scans_past_the_bound_is_too_complex() -> None:
    assert rejection(progressive_with_scans(bounds.MAX_JPEG_SCANS + 1)) is RejectReason.TOO_COMPLEX


def test_a_jpeg_with_thousands_of_segments_is_too_complex() -> None:
    data = encode(photo(), "JPEG")
    comments = b"\xff\xfe\x00\x03x" * (bounds.MAX_JPEG_SEGMENTS + 1)
    assert rejection(data[:2] + comments + data[2:]) is RejectReason.TOO_COMPLEX


@pytest.mark.parametrize("blocks", [1, 4])
def test_dense_restart_markers_are_walked_and_accepted(blocks: int) -> None:
    data = encode(photo((640, 480)), "JPEG", restart_marker_blocks=blocks)
    assert data.count(b"\xff\xd7") > 30  # one RST7 every 8 restart intervals
    assert run(data).width == 640


def test_restart_markers_out_of_sequence_are_corrupt() -> None:
    data = bytearray(encode(photo((640, 480)), "JPEG", restart_marker_blocks=4))
    at = data.index(b"\xff\xd3", data.index(b"\xff\xda"))
    data[at + 1] = 0xD5  # RST3 -> RST5
    with pytest.raises(InvalidImage, match="out of sequence") as info:
        run(bytes(data))
    assert info.value.reason is RejectReason.CORRUPT


def test_the_damaged_camera_file_is_still_refused() -> None:
    assert rejection((FIXTURES / "corrupted.jpg").read_bytes()) is RejectReason.CORRUPT


def _app13(declared: int) -> bytes:
    """A Photoshop APP13 (IPTC city "Paris") whose length field says ``declared`` bytes."""
    iptc = b"\x1c\x02\x5a\x00\x05Paris"
    payload = b"Photoshop 3.0\x00" + b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    return b"\xff\xed" + struct.pack(">H", declared) + payload


def test_a_photoshop_segment_with_a_wrong_length_is_accepted_like_libjpeg_does() -> None:
    """Issue 11 item 8 (Pillow's photoshop-200dpi-broken.jpg): the declared length ends inside the payload."""
    base = encode(photo(), "JPEG")
    data = base[:2] + _app13(declared=20) + base[2:]
    with Image.open(io.BytesIO(data)) as im:
        im.load()  # libjpeg (through Pillow) decodes it: it skips to the next marker
    result = run(data)
    assert (result.width, result.height) == (320, 240)
    assert b"Paris" not in result.served.data  # the IPTC block goes, as every APP13 does
    assert run(result.served.data).served.data == result.served.data


def test_a_wrong_length_that_swallows_the_frame_header_is_still_refused() -> None:
    base = encode(photo(), "JPEG")
    sof = base.index(b"\xff\xc0")
    # The APP13 claims to run past the SOF: after the resync the decoder finds no frame header.
    data = base[:2] + _app13(declared=sof + 40) + base[2:]
    assert rejection(data) in (RejectReason.CORRUPT, RejectReason.TRUNCATED)


# --- the decode deadline ---------------------------------------------------------------------------------------


def test_a_decode_past_its_deadline_is_too_complex() -> None:
    data = encode(photo(), "JPEG")
    assert rejection(data, deadline=time.monotonic() - 1) is RejectReason.TOO_COMPLEX


def test_the_deadline_reader_reads_normally_before_the_deadline() -> None:
    reader = bounds.DeadlineReader(b"abcdef", time.monotonic() + 3600)
    assert reader.read(2) == b"ab"
    assert reader.read() == b"cdef"


# --- animations and chunk counts ----------------------------------------------------------------------------


def _frames(count: int, fmt: str, size: tuple[int, int] = (8, 8), params: Mapping[str, object] | None = None) -> bytes:
    seq = [Image.new("RGB", size, (i % 2 * 255, 0, 0)) for i in range(count)]
    params = {**(params or {}), **({"optimize": False} if fmt == "GIF" else {})}
    return encode(seq[0], fmt, save_all=True, append_images=seq[1:], duration=20, loop=0, **params)


@pytest.mark.parametrize(("fmt", "params"), [("GIF", {}), ("PNG", {}), ("WEBP", {"lossless": True})])
def test_an_animation_past_the_frame_bound_is_too_complex(fmt: str, params: dict[str, object]) -> None:
    assert rejection(_frames(bounds.MAX_FRAMES + 1, fmt, params=params)) is RejectReason.TOO_COMPLEX


@pytest.mark.parametrize(("fmt", "params"), [("GIF", {}), ("PNG", {}), ("WEBP", {"lossless": True})])
def test_an_animation_keeps_its_frames_in_the_served_copy(fmt: str, params: dict[str, object]) -> None:
    result = run(_frames(12, fmt, params=params))
    with Image.open(io.BytesIO(result.served.data)) as served:
        assert getattr(served, "n_frames", 1) == 12


def test_a_png_with_thousands_of_chunks_is_too_complex() -> None:
    chunks = png_chunk(b"tEXt", b"k\x00v") * (bounds.MAX_PNG_ANCILLARY_CHUNKS + 1)
    assert rejection(png_with(encode(photo(), "PNG"), chunks)) is RejectReason.TOO_COMPLEX


def test_a_gif_with_thousands_of_comments_is_too_complex() -> None:
    gif = encode(photo().convert("P"), "GIF")
    at = gif.index(b"\x2c")
    comments = b"\x21\xfe\x01x\x00" * (bounds.MAX_GIF_EXTENSIONS + 1)
    assert rejection(gif[:at] + comments + gif[at:]) is RejectReason.TOO_COMPLEX


# --- served copies: location text and trailing data dropped, the picture kept ----------------------------------

HTML = b"<html><script>alert(1)</script></html>"


@pytest.mark.parametrize("kind", [b"tEXt", b"zTXt", b"iTXt"])
def test_png_text_chunks_are_dropped_from_the_served_copy(kind: bytes) -> None:
    text = b"48.8584 N, 2.2945 E"
    payload = {
        b"tEXt": b"GPSLatitude\x00" + text,
        b"zTXt": b"Location\x00\x00" + zlib.compress(text),
        b"iTXt": b"Comment\x00\x00\x00\x00\x00" + text,
    }[kind]
    data = png_with(
        encode(photo(), "PNG"), png_chunk(kind, payload), png_chunk(b"tIME", b"\x07\xea\x0b\x1e\x0c\x00\x00")
    )
    served = run(data).served.data
    assert kind not in served
    assert b"tIME" not in served
    with Image.open(io.BytesIO(served)) as im, Image.open(io.BytesIO(data)) as original:
        assert im.tobytes() == original.tobytes()


def test_png_exif_keeps_only_the_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "CameraMaker"
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 29.0)
    data = encode(photo(), "PNG", exif=exif.tobytes())
    result = run(data)
    assert (result.width, result.height) == (240, 320)  # upright
    assert b"CameraMaker" not in result.served.data
    with Image.open(io.BytesIO(result.served.data)) as served:
        kept = served.getexif()
        assert kept.get(0x0112) == 6
        assert 0x8825 not in kept


@pytest.mark.parametrize(
    ("fmt", "params"), [("PNG", {}), ("GIF", {}), ("WEBP", {"quality": 80}), ("JPEG", {"quality": 80})]
)
def test_bytes_after_the_image_end_are_not_served(fmt: str, params: dict[str, object]) -> None:
    image = encode(photo() if fmt != "GIF" else photo().convert("P"), fmt, **params)
    result = run(image + HTML)
    assert HTML not in result.served.data
    assert result.served.data == image


def test_gif_comment_extensions_are_dropped_and_the_loop_kept() -> None:
    animated = _frames(3, "GIF")
    at = animated.index(b"\x2c")
    comment = b"\x21\xfe" + bytes([20]) + b"GPS 48.8584,2.29 ok!" + b"\x00"
    result = run(animated[:at] + comment + animated[at:])
    assert b"48.8584" not in result.served.data
    with Image.open(io.BytesIO(result.served.data)) as served:
        assert getattr(served, "n_frames", 1) == 3
        assert served.info.get("loop") == 0


# --- the published hash -------------------------------------------------------------------------------------


def test_the_published_sha256_is_the_served_files_not_the_originals() -> None:
    original = (FIXTURES / "DSCN0010.jpg").read_bytes()  # carries GPS
    result = run(original)
    assert result.served.data != original
    assert result.sha256 == hashlib.sha256(result.served.data).hexdigest()
    assert result.sha256 != hashlib.sha256(original).hexdigest()
    assert result.original_sha256 == hashlib.sha256(original).hexdigest()


def test_a_clean_upload_publishes_its_own_hash() -> None:
    data = encode(photo(), "PNG")
    result = run(data)
    assert result.sha256 == result.original_sha256 == hashlib.sha256(data).hexdigest()


def test_a_stray_byte_before_the_first_gif_frame_is_corrupt() -> None:
    """Found by fuzzing: Pillow skips the byte and decodes the frame; browsers stop parsing there."""
    gif = encode(photo((16, 12)).convert("P"), "GIF")
    at = gif.index(b"\x2c")
    assert rejection(gif[:at] + b"\x00" + gif[at:]) is RejectReason.CORRUPT


def test_bytes_that_start_no_block_after_a_frame_end_the_gif() -> None:
    animated = _frames(3, "GIF", size=(16, 16))
    second = animated.index(b"\x21\xf9", animated.index(b"\x2c"))  # the second frame's graphic control
    result = run(animated[:second] + b"\x00junk" + animated[second:])
    with Image.open(io.BytesIO(result.served.data)) as served:
        assert getattr(served, "n_frames", 1) == 1
    assert b"junk" not in result.served.data


def test_a_gif_whose_first_frame_has_no_image_data_is_corrupt() -> None:
    gif = encode(photo((16, 12)).convert("P"), "GIF")
    at = gif.index(b"\x2c") + 10 + 1  # past the descriptor (no local table) and the LZW code size
    assert rejection(gif[:at] + b"\x00\x3b") is RejectReason.CORRUPT


def test_a_png_whose_image_data_chunk_runs_past_the_end_is_truncated() -> None:
    """Found by fuzzing: the zlib stream was complete, but the IDAT's length ran past IEND and the file's end."""
    data = bytearray(encode(Image.new("RGB", (1, 1)), "PNG"))
    at = data.index(b"IDAT") - 4
    data[at : at + 4] = struct.pack(">I", struct.unpack(">I", data[at : at + 4])[0] + 20)
    assert rejection(bytes(data)) is RejectReason.TRUNCATED


def test_a_gif_cut_inside_its_first_frame_is_truncated() -> None:
    gif = encode(photo((16, 12)).convert("P"), "GIF")
    assert rejection(gif[:-3]) is RejectReason.TRUNCATED  # the terminator and the trailer are gone


def test_a_gif_cut_inside_a_later_frame_serves_the_complete_frames() -> None:
    animated = _frames(3, "GIF", size=(16, 16))
    result = run(animated[:-4])
    with Image.open(io.BytesIO(result.served.data)) as served:
        assert getattr(served, "n_frames", 1) == 2
