"""A generated corpus of hostile image files and filenames (nothing downloaded; everything built with Pillow).

    .venv/bin/python scripts/hostile_corpus.py --out build/hostile     # write the files and an index.json
    .venv/bin/python scripts/hostile_corpus.py --report                # run imaging.process over each: outcome,
                                                                       #   time and peak RSS (one fresh process
                                                                       #   each), then a table per kind

Each :class:`HostileFile` says what a correct pipeline does with it: ``reject`` (with one of ``reasons``, or any
reason when ``reasons`` is empty), ``accept`` (a correct, bounded result: the served copy and thumbnails are
made and carry none of the hostile payload), or ``either``. The kinds follow issue 11:

- ``scan-bomb`` — progressive JPEGs that repeat a scan hundreds or thousands of times (decode cost grows with
  scans x blocks while the file stays small);
- ``pixel-bomb`` — headers promising billions of pixels over a few bytes of data (PNG, GIF, WebP, JPEG);
- ``frame-bomb`` — animations with thousands of frames (GIF, APNG, WebP);
- ``truncated`` / ``corrupt`` — real files cut short or with damaged bytes;
- ``polyglot`` — a valid image with HTML or a ZIP after its end (PNG after IEND, GIF after the trailer, JPEG
  after EOI), and location text hidden in PNG text chunks and GIF comments;
- ``giant-metadata`` — huge EXIF/ICC/text payloads, zlib bombs in compressed text and ICC chunks;
- ``huge-header`` — thousands of segments or chunks before the pixels, lengths that point past the file;
- ``extreme-shape`` — 1x1 and 20000x1 images (valid: accepted).

:func:`filenames` lists hostile upload names (traversal, NUL, CRLF, RTL override, 5 KB).
Sizes are kept small (the largest file is a few MB) so the whole corpus runs in seconds.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import re
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIXTURES = ROOT / "tests" / "fixtures"

REJECT, ACCEPT, EITHER = "reject", "accept", "either"


_BUILT: dict[str, bytes] = {}


@dataclass(frozen=True)
class HostileFile:
    name: str
    kind: str
    build: Callable[[], bytes]  # files are built on first use (the large ones take seconds)
    expect: str  # REJECT, ACCEPT, or EITHER (a clean rejection and a correct result are both right)
    reasons: frozenset[str] = frozenset()  # acceptable RejectReason values when rejected (empty: any)
    note: str = ""
    # Byte strings that must not appear in any stored rendition when the file is accepted.
    forbidden: tuple[bytes, ...] = field(default=())
    fast: bool = True  # part of the quick subset CI runs on every commit

    @property
    def data(self) -> bytes:
        if self.name not in _BUILT:
            _BUILT[self.name] = self.build()
        return _BUILT[self.name]


# --- building blocks -------------------------------------------------------------------------------


def _save(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def _photo(size: tuple[int, int] = (640, 480)) -> Image.Image:
    with Image.open(FIXTURES / "jolla.jpg") as im:
        im.draft("RGB", size)
        return im.convert("RGB").resize(size)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_ihdr(width: int, height: int, depth: int = 8, color: int = 2) -> bytes:
    return _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0))


_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_IEND = _png_chunk(b"IEND", b"")


def _png_insert(png: bytes, chunks: bytes, before: bytes = b"IDAT") -> bytes:
    at = png.index(before) - 4
    return png[:at] + chunks + png[at:]


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


_SOS_RE = re.compile(rb"\xff\xda")


# --- scan bombs --------------------------------------------------------------------------------------


def _scan_bomb(size: int, repeats: int) -> bytes:
    """A progressive JPEG whose cheapest refinement scan is repeated ``repeats`` more times.

    libjpeg only *warns* about a repeated scan ("Inconsistent progression sequence") and Pillow silences the
    warning, so the file decodes; each scan is a pass over every block of the image.
    """
    im = Image.new("RGB", (size, size), (128, 128, 128))
    data = _save(im, "JPEG", quality=50, progressive=True)
    starts = [m.start() for m in _SOS_RE.finditer(data)]
    end = data.rindex(b"\xff\xd9")
    scans = [data[s : (starts[i + 1] if i + 1 < len(starts) else end)] for i, s in enumerate(starts)]
    cheapest = min(scans[1:], key=len)
    return data[:end] + cheapest * repeats + data[end:]


# --- pixel bombs -------------------------------------------------------------------------------------


def _png_pixel_bomb(width: int, height: int) -> bytes:
    """1-bit greyscale, all zero: a few KB of zlib for a gigapixel."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(min(height, 2000))) + comp.flush()
    return _PNG_SIG + _png_ihdr(width, height, 1, 0) + _png_chunk(b"IDAT", body) + _IEND


def _gif_screen_bomb() -> bytes:
    """A 65535x65535 logical screen holding one 1x1 frame."""
    small = _save(Image.new("P", (1, 1)), "GIF")
    return small[:6] + struct.pack("<HH", 65535, 65535) + small[10:]


def _gif_frame_size_bomb() -> bytes:
    """The image descriptor of the only frame claims 65535x65535."""
    data = bytearray(_save(Image.new("P", (1, 1)), "GIF"))
    at = data.index(b"\x2c")  # image separator
    data[at + 5 : at + 9] = struct.pack("<HH", 65535, 65535)
    data[6:10] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def _webp_pixel_bomb() -> bytes:
    """A lossless WebP claiming 16383x16383 (the format's maximum) with a one-colour bitstream."""
    small = bytearray(_save(Image.new("RGB", (16, 16)), "WEBP", lossless=True))
    at = small.index(b"VP8L") + 8 + 1  # past the chunk header and the 0x2f signature
    bits = int.from_bytes(small[at : at + 4], "little")
    bits = (bits & ~0x0FFFFFFF) | (16382) | (16382 << 14)
    small[at : at + 4] = bits.to_bytes(4, "little")
    return bytes(small)


def _jpeg_pixel_bomb() -> bytes:
    """A JPEG whose SOF says 65500x65500 over an 8x8 image's data."""
    data = bytearray(_save(Image.new("RGB", (8, 8)), "JPEG"))
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", 65500, 65500)
    return bytes(data)


# --- frame bombs -------------------------------------------------------------------------------------


def _gif_frames(count: int, size: tuple[int, int]) -> bytes:
    frames = [Image.new("P", size, i % 2) for i in range(2)]
    for f in frames:
        f.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    # Pillow drops identical consecutive frames; alternate two and disable that optimisation.
    seq = [frames[i % 2] for i in range(count)]
    return _save(seq[0], "GIF", save_all=True, append_images=seq[1:], duration=10, loop=0, optimize=False)


def _gif_tiny_frames(count: int, canvas: int) -> bytes:
    """``count`` 1x1 frames on a ``canvas`` x ``canvas`` logical screen: a few bytes each."""
    one = _save(Image.new("P", (1, 1)), "GIF")
    start = one.index(b"\x2c")  # the image descriptor
    frame = b"\x21\xf9\x04\x04\x01\x00\x00\x00" + one[start:-1]  # a graphic control (10 ms), the frame
    header = one[:6] + struct.pack("<HH", canvas, canvas) + one[10:start]
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    return header + loop + frame * count + b"\x3b"


def _apng_frames(count: int, size: tuple[int, int]) -> bytes:
    seq = [Image.new("RGB", size, (i % 2 * 255, 0, 0)) for i in range(count)]
    return _save(seq[0], "PNG", save_all=True, append_images=seq[1:], duration=10, loop=0)


def _webp_frames(count: int, size: tuple[int, int]) -> bytes:
    seq = [Image.new("RGB", size, (0, i % 2 * 255, 0)) for i in range(count)]
    return _save(seq[0], "WEBP", save_all=True, append_images=seq[1:], duration=10, loop=0, lossless=True)


# --- metadata and headers ----------------------------------------------------------------------------


def _png_with_text(kind: bytes, keyword: bytes, text: bytes) -> bytes:
    png = _save(_photo((64, 48)), "PNG")
    if kind == b"tEXt":
        payload = keyword + b"\x00" + text
    elif kind == b"zTXt":
        payload = keyword + b"\x00\x00" + zlib.compress(text)
    else:  # iTXt, uncompressed
        payload = keyword + b"\x00\x00\x00\x00\x00" + text
    return _png_insert(png, _png_chunk(kind, payload))


def _png_zlib_bomb(kind: bytes) -> bytes:
    """A compressed text / ICC chunk that inflates to 256 MB from ~250 KB."""
    comp = zlib.compressobj(9)
    payload = b"".join(comp.compress(b"\x00" * (1 << 20)) for _ in range(256)) + comp.flush()
    png = _save(_photo((64, 48)), "PNG")
    if kind == b"iCCP":
        return _png_insert(png, _png_chunk(b"iCCP", b"bomb\x00\x00" + payload))
    return _png_insert(png, _png_chunk(b"zTXt", b"Comment\x00\x00" + payload))


def _png_many_chunks(count: int) -> bytes:
    png = _save(_photo((64, 48)), "PNG")
    return _png_insert(png, _png_chunk(b"tEXt", b"k\x00v") * count)


def _png_length_past_end() -> bytes:
    png = _save(_photo((64, 48)), "PNG")
    return _png_insert(png, struct.pack(">I", 0x7FFFFFF0) + b"tEXt" + b"k\x00v")


def _gif_with_comments(count: int, text: bytes) -> bytes:
    gif = _save(_photo((64, 48)).convert("P"), "GIF")
    comment = b"\x21\xfe" + b"".join(bytes((len(c),)) + c for c in _blocks(text)) + b"\x00"
    at = gif.index(b"\x2c")  # before the first image descriptor
    return gif[:at] + comment * count + gif[at:]


def _blocks(data: bytes, size: int = 255) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def _jpeg_with(*segments: bytes, base: bytes | None = None) -> bytes:
    data = base if base is not None else _save(_photo((320, 240)), "JPEG", quality=80)
    return data[:2] + b"".join(segments) + data[2:]


def _exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Hostile"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 29.0), "E", (2.0, 17.0, 40.0)
    return exif.tobytes()


def _giant_exif_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = "A" * 60_000  # ImageDescription filling the segment
    return _jpeg_with(_jpeg_segment(0xE1, b"Exif\x00\x00" + exif.tobytes()[:65000]))


def _giant_icc_jpeg(parts: int) -> bytes:
    """An ICC profile split over ``parts`` APP2 segments of 64 KB each (junk bytes, not a real profile)."""
    chunk = b"\x00" * 65_000
    segments = [_jpeg_segment(0xE2, b"ICC_PROFILE\x00" + bytes((i + 1, parts)) + chunk) for i in range(parts)]
    return _jpeg_with(*segments)


def _jpeg_many_segments(count: int) -> bytes:
    return _jpeg_with(_jpeg_segment(0xFE, b"x") * count)


def _jpeg_app13_wrong_length() -> bytes:
    """A Photoshop APP13 whose length field is shorter than its payload (as in ``photoshop-200dpi-broken.jpg``).

    libjpeg skips the declared length, finds no marker there and resynchronises to the next one with a
    warning, so it decodes; browsers show it.
    """
    payload = b"Photoshop 3.0\x00" + b"8BIM\x04\x04\x00\x00\x00\x00\x00\x10" + b"\x1c\x02\x5a\x00\x05Paris" * 3
    segment = b"\xff\xed" + struct.pack(">H", 20) + payload  # 20 < len(payload) + 2
    return _jpeg_with(segment)


def _jpeg_length_past_end() -> bytes:
    base = _save(_photo((64, 48)), "JPEG")
    return base[:2] + b"\xff\xe1\xff\xff" + b"Exif\x00\x00"


# --- truncated and corrupt ---------------------------------------------------------------------------


def _flip(data: bytes, offsets: list[int]) -> bytes:
    out = bytearray(data)
    for at in offsets:
        out[at] ^= 0xFF
    return bytes(out)


# --- polyglots ------------------------------------------------------------------------------------

_HTML = b"<html><body><script>alert(document.domain)</script></body></html>"
_ZIP = b"PK\x03\x04" + b"\x00" * 26 + b"evil.html" + _HTML + b"PK\x05\x06" + b"\x00" * 18


@functools.cache
def corpus() -> tuple[HostileFile, ...]:
    """Every hostile file (deterministic: Pillow's encoders are, and no randomness is used)."""
    photo = _photo()
    jpeg = _save(photo, "JPEG", quality=85)
    png = _save(photo, "PNG")
    gif = _save(photo.convert("P"), "GIF")
    webp = _save(photo, "WEBP", quality=80)
    real = (FIXTURES / "DSCN0010.jpg").read_bytes()
    pixels = frozenset({"TOO_MANY_PIXELS"})
    costly = frozenset({"TOO_COMPLEX"})
    damaged = frozenset({"CORRUPT", "TRUNCATED"})
    files: list[HostileFile] = [
        # scan bombs: a normal progressive JPEG has about 10 scans
        HostileFile("scan-bomb-2000px-300.jpg", "scan-bomb", lambda: _scan_bomb(2000, 300), REJECT, costly),
        HostileFile(
            "scan-bomb-4000px-3000.jpg",
            "scan-bomb",
            lambda: _scan_bomb(4000, 3000),
            REJECT,
            costly,
            fast=False,
        ),
        HostileFile(
            "progressive-normal.jpg",
            "scan-bomb",
            lambda: _save(photo, "JPEG", progressive=True),
            ACCEPT,
            note="a normal progressive JPEG (control)",
        ),
        # pixel bombs
        HostileFile(
            "png-1bit-100k-x-100k.png", "pixel-bomb", lambda: _png_pixel_bomb(100_000, 100_000), REJECT, pixels
        ),
        HostileFile("png-1bit-20k-x-20k.png", "pixel-bomb", lambda: _png_pixel_bomb(20_000, 20_000), REJECT, pixels),
        HostileFile("gif-screen-65535.gif", "pixel-bomb", lambda: _gif_screen_bomb(), REJECT, pixels),
        HostileFile("gif-frame-65535.gif", "pixel-bomb", lambda: _gif_frame_size_bomb(), REJECT, pixels | damaged),
        HostileFile("webp-16383.webp", "pixel-bomb", lambda: _webp_pixel_bomb(), REJECT, pixels | damaged),
        HostileFile("jpeg-65500.jpg", "pixel-bomb", lambda: _jpeg_pixel_bomb(), REJECT, pixels | damaged),
        # frame bombs
        HostileFile(
            "gif-3000-frames.gif", "frame-bomb", lambda: _gif_frames(3000, (200, 200)), REJECT, costly, fast=False
        ),
        HostileFile(
            "apng-2000-frames.png", "frame-bomb", lambda: _apng_frames(2000, (100, 100)), REJECT, costly, fast=False
        ),
        HostileFile(
            "webp-1200-frames.webp", "frame-bomb", lambda: _webp_frames(1200, (64, 64)), REJECT, costly, fast=False
        ),
        HostileFile("gif-300-frames.gif", "frame-bomb", lambda: _gif_frames(300, (200, 200)), ACCEPT, note="control"),
        HostileFile(
            "gif-1500-tiny-frames.gif",
            "frame-bomb",
            lambda: _gif_tiny_frames(1500, 4000),
            REJECT,
            costly,
            note="1x1 frames on a 4000x4000 canvas: each one composited by a viewer",
        ),
        HostileFile("gif-animated-10.gif", "frame-bomb", lambda: _gif_frames(10, (200, 200)), ACCEPT, note="control"),
        # truncated and corrupt
        HostileFile("jpeg-truncated-header.jpg", "truncated", lambda: jpeg[:300], REJECT, damaged),
        HostileFile("jpeg-truncated-half.jpg", "truncated", lambda: jpeg[: len(jpeg) // 2], REJECT, damaged),
        HostileFile("jpeg-real-truncated.jpg", "truncated", lambda: real[: len(real) * 2 // 3], REJECT, damaged),
        HostileFile("png-truncated.png", "truncated", lambda: png[: len(png) // 2], REJECT, damaged),
        HostileFile("png-no-iend.png", "truncated", lambda: png[:-12], ACCEPT, note="all pixel data present"),
        HostileFile("gif-truncated.gif", "truncated", lambda: gif[: len(gif) // 2], REJECT, damaged),
        HostileFile("webp-truncated.webp", "truncated", lambda: webp[: len(webp) // 2], REJECT, damaged),
        HostileFile("png-bad-crc.png", "corrupt", lambda: _flip(png, [png.index(b"IDAT") + 6]), REJECT, damaged),
        HostileFile(
            "jpeg-real-corrupted.jpg", "corrupt", lambda: (FIXTURES / "corrupted.jpg").read_bytes(), REJECT, damaged
        ),
        HostileFile("jpeg-two-soi.jpg", "corrupt", lambda: jpeg[:2] + jpeg, REJECT, damaged),
        HostileFile(
            "webp-riff-size-lies.webp",
            "corrupt",
            lambda: webp[:4] + b"\xff\xff\xff\x7f" + webp[8:],
            REJECT,
            note="RIFF size far beyond the file",
        ),
        HostileFile("png-length-past-end.png", "huge-header", lambda: _png_length_past_end(), REJECT, damaged),
        HostileFile("jpeg-length-past-end.jpg", "huge-header", lambda: _jpeg_length_past_end(), REJECT, damaged),
        # polyglots and hidden location text
        HostileFile("png-html-after-iend.png", "polyglot", lambda: png + _HTML, ACCEPT, forbidden=(b"<script",)),
        HostileFile("gif-html-after-trailer.gif", "polyglot", lambda: gif + _HTML, ACCEPT, forbidden=(b"<script",)),
        HostileFile(
            "jpeg-zip-after-eoi.jpg", "polyglot", lambda: jpeg + _ZIP, ACCEPT, forbidden=(b"PK\x03\x04", b"<script")
        ),
        HostileFile("webp-html-after-riff.webp", "polyglot", lambda: webp + _HTML, ACCEPT, forbidden=(b"<script",)),
        HostileFile(
            "png-text-gps.png",
            "polyglot",
            lambda: _png_with_text(b"tEXt", b"GPSLatitude", b"48.8584 N"),
            ACCEPT,
            forbidden=(b"GPSLatitude", b"48.8584"),
        ),
        HostileFile(
            "png-ztxt-location.png",
            "polyglot",
            lambda: _png_with_text(b"zTXt", b"Location", b"Eiffel Tower, Paris"),
            ACCEPT,
            forbidden=(b"Location",),
        ),
        HostileFile(
            "png-itxt-comment.png",
            "polyglot",
            lambda: _png_with_text(b"iTXt", b"Comment", b"home: 48.8584,2.2945"),
            ACCEPT,
            forbidden=(b"48.8584",),
        ),
        HostileFile(
            "gif-comment-location.gif",
            "polyglot",
            lambda: _gif_with_comments(1, b"GPS 48.8584,2.2945 home"),
            ACCEPT,
            forbidden=(b"48.8584",),
        ),
        HostileFile(
            "png-exif-gps.png",
            "polyglot",
            lambda: _png_insert(png, _png_chunk(b"eXIf", _exif_with_gps())),
            ACCEPT,
            forbidden=(b"Hostile",),
        ),
        # giant metadata and huge headers
        HostileFile("jpeg-giant-exif.jpg", "giant-metadata", lambda: _giant_exif_jpeg(), ACCEPT),
        HostileFile(
            "jpeg-icc-64-segments.jpg",
            "giant-metadata",
            lambda: _giant_icc_jpeg(64),
            EITHER,
            note="4 MB of ICC segments in a 320x240 image",
        ),
        HostileFile(
            "png-ztxt-zlib-bomb.png",
            "giant-metadata",
            lambda: _png_zlib_bomb(b"zTXt"),
            EITHER,
            forbidden=(b"zTXt",),
            fast=False,
        ),
        HostileFile("png-iccp-zlib-bomb.png", "giant-metadata", lambda: _png_zlib_bomb(b"iCCP"), REJECT, fast=False),
        HostileFile(
            "png-text-1mb.png",
            "giant-metadata",
            lambda: _png_with_text(b"tEXt", b"Comment", b"A" * 1_000_000),
            ACCEPT,
            forbidden=(b"AAAAAAAA",),
        ),
        HostileFile("png-50000-chunks.png", "huge-header", lambda: _png_many_chunks(50_000), REJECT, costly),
        HostileFile("gif-50000-comments.gif", "huge-header", lambda: _gif_with_comments(50_000, b"x"), REJECT, costly),
        HostileFile("jpeg-20000-segments.jpg", "huge-header", lambda: _jpeg_many_segments(20_000), REJECT, costly),
        HostileFile(
            "jpeg-app13-wrong-length.jpg",
            "huge-header",
            lambda: _jpeg_app13_wrong_length(),
            ACCEPT,
            note="issue 11 item 8: libjpeg resynchronises; browsers show it",
            forbidden=(b"Paris",),
        ),
        # extreme shapes (valid)
        HostileFile("png-1x1.png", "extreme-shape", lambda: _save(Image.new("RGB", (1, 1), "red"), "PNG"), ACCEPT),
        HostileFile("jpeg-1x1.jpg", "extreme-shape", lambda: _save(Image.new("RGB", (1, 1), "red"), "JPEG"), ACCEPT),
        HostileFile("gif-1x1.gif", "extreme-shape", lambda: _save(Image.new("P", (1, 1)), "GIF"), ACCEPT),
        HostileFile(
            "png-20000x1.png", "extreme-shape", lambda: _save(Image.new("RGB", (20000, 1), "blue"), "PNG"), ACCEPT
        ),
        HostileFile(
            "jpeg-20000x1.jpg", "extreme-shape", lambda: _save(Image.new("RGB", (20000, 1), "blue"), "JPEG"), ACCEPT
        ),
        HostileFile(
            "jpeg-1x20000.jpg", "extreme-shape", lambda: _save(Image.new("RGB", (1, 20000), "blue"), "JPEG"), ACCEPT
        ),
    ]
    names = [f.name for f in files]
    assert len(names) == len(set(names)), "corpus names must be unique"
    return tuple(files)


def filenames() -> dict[str, str]:
    """Hostile upload filenames: label -> the name as a client would send it."""
    return {
        "traversal": "../../../etc/passwd.jpg",
        "traversal-windows": "..\\..\\windows\\system32\\evil.jpg",
        "absolute": "/etc/shadow.jpg",
        "nul": "photo\x00.html.jpg",
        "crlf": "photo\r\nX-Injected: yes\r\n.jpg",
        "rtl-override": "holiday\u202egpj.exe",
        "html": "<img src=x onerror=alert(1)>.jpg",
        "long-5kb": "a" * 5000 + ".jpg",
        "dot-only": "..",
        "empty": "",
        "control-chars": "a\x01\x07\x1b[31m.jpg",
        "unicode-nfd": "cafe\u0301.jpg",
    }


# --- the CLI: write the corpus, or measure the pipeline over it --------------------------------------


def _measure_one(path: str, max_bytes: int, max_pixels: int) -> None:
    """In a fresh process: run the pipeline over one file, print outcome, seconds and peak-RSS growth."""
    from chalicelib import imaging
    from chalicelib.errors import InvalidImage

    def hwm() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    data = Path(path).read_bytes()
    Image.init()
    before, start = hwm(), time.perf_counter()
    try:
        result = imaging.process(data, max_bytes=max_bytes, max_pixels=max_pixels)
        outcome = f"accepted {result.width}x{result.height}"
    except InvalidImage as exc:
        outcome = f"rejected {exc.reason}"
    except Exception as exc:  # what the pipeline must never do
        outcome = f"CRASH {type(exc).__name__}: {exc}"
    print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - start, "rss_mib": (hwm() - before) / 1024}))


def report(
    files: list[HostileFile] | tuple[HostileFile, ...], out: Path, max_bytes: int, max_pixels: int, timeout: float
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        path = out / f.name
        path.write_bytes(f.data)
        cmd = [sys.executable, __file__, "--measure", str(path), str(max_bytes), str(max_pixels)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
            raw = proc.stdout.strip().splitlines()
            row: dict[str, object] = (
                json.loads(raw[-1])
                if proc.returncode == 0 and raw
                else {"outcome": f"CRASH exit {proc.returncode}", "seconds": None, "rss_mib": None}
            )
        except subprocess.TimeoutExpired:
            row = {"outcome": f"TIMEOUT > {timeout:.0f}s", "seconds": None, "rss_mib": None}
        row |= {
            "name": f.name,
            "kind": f.kind,
            "bytes": len(f.data),
            "expect": f.expect,
            "as_expected": _as_expected(f, str(row["outcome"])),
        }
        rows.append(row)
        seconds = f"{row['seconds']:.3f}s" if isinstance(row["seconds"], float) else "-"
        rss = f"+{row['rss_mib']:.1f}MiB" if isinstance(row["rss_mib"], float) else "-"
        outcome = str(row["outcome"])
        print(
            f"{f.name:<32} {f.kind:<15} {len(f.data):>9} B  expect {f.expect:<7} {outcome:<32} {seconds:>8} {rss:>10}"
        )
    return rows


# The bounds the report judges against: per file, on this machine kind, in a fresh process.
TIME_BOUND_S: Final = 5.0
RSS_BOUND_MIB: Final = 256.0


def _as_expected(f: HostileFile, outcome: str) -> bool:
    if outcome.startswith("accepted"):
        return f.expect in (ACCEPT, EITHER)
    if outcome.startswith("rejected"):
        reason = outcome.split()[1]
        return f.expect in (REJECT, EITHER) and (not f.reasons or reason in f.reasons)
    return False  # a crash or a timeout


def summary(rows: list[dict[str, object]]) -> str:
    """A markdown table per kind: tried, rejected cleanly, accepted correctly, crashes, over the bounds."""
    lines = [
        f"| kind | tried | rejected cleanly | accepted correctly | not as expected | crashes (5xx) | "
        f"over {TIME_BOUND_S:g} s | over {RSS_BOUND_MIB:g} MiB | slowest | most memory |",
        "| --- " * 10 + "|",
    ]
    kinds = sorted({str(r["kind"]) for r in rows})
    for kind in [*kinds, "all"]:
        group = [r for r in rows if kind in ("all", r["kind"])]
        seconds = [float(r["seconds"]) for r in group if isinstance(r["seconds"], float)]
        rss = [float(r["rss_mib"]) for r in group if isinstance(r["rss_mib"], float)]
        outcome = [str(r["outcome"]) for r in group]
        good = [o for o, r in zip(outcome, group, strict=True) if r["as_expected"]]
        lines.append(
            f"| {kind} | {len(group)} "
            f"| {sum(o.startswith('rejected') for o in good)} "
            f"| {sum(o.startswith('accepted') for o in good)} "
            f"| {sum(not r['as_expected'] for r in group)} "
            f"| {sum(o.startswith(('CRASH', 'TIMEOUT')) for o in outcome)} "
            f"| {sum(x > TIME_BOUND_S for x in seconds) + sum(o.startswith('TIMEOUT') for o in outcome)} "
            f"| {sum(x > RSS_BOUND_MIB for x in rss)} "
            f"| {max(seconds, default=0):.2f} s | +{max(rss, default=0):.1f} MiB |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "hostile", help="where to write the files")
    parser.add_argument("--report", action="store_true", help="run the pipeline over every file (fresh process each)")
    parser.add_argument("--fast", action="store_true", help="only the quick subset")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per file before it counts as a hang")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _measure_one(args.measure[0], int(args.measure[1]), int(args.measure[2]))
        return
    from chalicelib.settings import Settings

    defaults = Settings.from_env({})
    files = [f for f in corpus() if f.fast or not args.fast]
    if args.report:
        rows = report(files, args.out, defaults.max_upload_bytes, defaults.max_image_pixels, args.timeout)
        print()
        print(summary(rows))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    for f in files:
        (args.out / f.name).write_bytes(f.data)
    index = [
        {"name": f.name, "kind": f.kind, "expect": f.expect, "reasons": sorted(f.reasons), "note": f.note}
        for f in files
    ]
    (args.out / "index.json").write_text(json.dumps({"files": index, "filenames": filenames()}, indent=1))
    print(f"wrote {len(files)} files and index.json to {args.out}")


if __name__ == "__main__":
    main()
