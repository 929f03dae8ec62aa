"""The catalog of the product's facts: image formats, renditions, visibilities and fixed limits.

Everything else reads these facts from here: the imaging package (which formats it decodes, their MIME types and
extensions, the thumbnail sizes), the services (what an upload form may claim, which sizes a thumbnail request may
name, which visibilities exist), the OpenAPI document and the web front end's generated ``config.js`` (through
:func:`public_facts`). A test compares each copy with this module, so a new format or rendition is one entry
here (plus, for a format, its scrubber module in ``chalicelib/imaging/``).

Pure data and small functions: no I/O, no Pillow import. Whether this build decodes a format that needs an
optional Pillow module (AVIF) is asked lazily, once, by importing that C module alone (a few milliseconds; it
does not import ``PIL.Image``). Limits that vary per stage are settings (``chalicelib/settings.py``); the public
ones are published together with these facts by :func:`public_facts`.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    from chalicelib.settings import Settings

# --- formats ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    """An image format users may upload (and we serve as "the file")."""

    name: str  # Pillow's format name, as ``Image.format`` reports it and ``Image.open(formats=...)`` takes it
    mime_type: str
    extension: str  # the canonical one, used for stored keys
    extensions: tuple[str, ...]  # every extension a file picker should accept (canonical first)
    label: str  # how the product names it to people
    browsers_display: bool  # every current browser shows it in <img>
    pillow_module: str | None = None  # an optional Pillow C module the decoder needs (None: always built in)
    plugin: str | None = None  # a Python package that registers the decoder with Pillow (pillow_heif)
    # Also make a "display" rendition (JPEG or WebP, longest side <= DISPLAY_LONGEST_SIDE) that the share page,
    # the direct link and the web front end show: for formats browsers cannot show (HEIC), and AVIF, which
    # older browsers cannot.
    display_rendition: bool = False
    mime_aliases: tuple[str, ...] = ()  # other Content-Types browsers claim for it

    @property
    def decodable(self) -> bool:
        """Whether this build decodes it (formats with an optional module or plugin may be missing)."""
        if self.plugin is not None and not _plugin_present(self.plugin):
            return False
        return self.pillow_module is None or _pillow_has(self.pillow_module)


FORMATS: Final[tuple[Format, ...]] = (
    Format("JPEG", "image/jpeg", "jpg", ("jpg", "jpeg", "jpe", "jfif"), "JPEG", browsers_display=True),
    Format("PNG", "image/png", "png", ("png",), "PNG", browsers_display=True),
    Format("GIF", "image/gif", "gif", ("gif",), "GIF", browsers_display=True),
    Format("WEBP", "image/webp", "webp", ("webp",), "WebP", browsers_display=True),
    Format(
        "AVIF",
        "image/avif",
        "avif",
        ("avif",),
        "AVIF",
        browsers_display=True,
        pillow_module="avif",
        display_rendition=True,
    ),
    Format(
        "HEIF",
        "image/heic",
        "heic",
        ("heic", "heif", "hif"),
        "HEIC",
        browsers_display=False,
        plugin="pillow_heif",
        display_rendition=True,
        mime_aliases=("image/heif", "image/heic-sequence", "image/heif-sequence"),
    ),
)
FORMATS_BY_NAME: Final[Mapping[str, Format]] = {f.name: f for f in FORMATS}
FORMATS_BY_MIME: Final[Mapping[str, Format]] = {f.mime_type: f for f in FORMATS}


@cache
def _pillow_has(module: str) -> bool:
    # What PIL.features.check_module does, without importing PIL.Image (tens of milliseconds of cold start).
    try:
        importlib.import_module(f"PIL._{module}")
    except ImportError:  # not built (ModuleNotFoundError), or its shared library is missing
        return False
    return True


@cache
def _plugin_present(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def accepted_formats() -> tuple[Format, ...]:
    """The formats this build takes as uploads: every catalog format it can decode, in catalog order."""
    return tuple(f for f in FORMATS if f.decodable)


def accepted_format_names() -> frozenset[str]:
    return frozenset(f.name for f in accepted_formats())


def accepted_mime_types() -> frozenset[str]:
    """The Content-Types an upload form may claim (the processor still decides by content)."""
    return frozenset(m for f in accepted_formats() for m in (f.mime_type, *f.mime_aliases))


def format_named(name: str) -> Format:
    """The catalog entry of a Pillow format name; ``KeyError`` for one we do not serve."""
    return FORMATS_BY_NAME[name]


# What thumbnails are encoded as: opaque images as JPEG, images with transparency as WebP (keeps the alpha).
THUMBNAIL_OPAQUE_FORMAT: Final = "JPEG"
THUMBNAIL_ALPHA_FORMAT: Final = "WEBP"


@dataclass(frozen=True)
class Companion:
    """Another encoding of every thumbnail, for browsers that take it: ``<picture><source type=...>`` before the
    ``<img>`` of the thumbnail itself (JPEG, or WebP for images with alpha), which every browser shows.

    Stored beside the thumbnail under the same name with this format's extension (``/i/{ref}/600.webp``); not
    made for a thumbnail that already is this format (an image with alpha: its thumbnail is the WebP).
    """

    format_name: str  # a catalog format (Pillow's name)
    encoder_options: tuple[tuple[str, object], ...]  # Pillow ``save()`` options

    @property
    def format(self) -> Format:
        return FORMATS_BY_NAME[self.format_name]

    @property
    def encodable(self) -> bool:
        """Whether this build can write it (AVIF needs Pillow's optional ``_avif`` module)."""
        return self.format.decodable


# Best first: the order of the ``<source>`` elements (a browser takes the first type it supports). The settings and
# the AVIF decision are measured in docs/benchmarks.md (scripts/bench/companions.py). One AVIF encoder thread: the
# same bytes for 10-13 % less CPU, and the processor never has a spare CPU to give it (at 1024 MB Lambda grants 0.58
# of a vCPU; a local burst keeps every CPU busy), so libavif's extra threads only add their overhead.
THUMBNAIL_COMPANIONS: Final[tuple[Companion, ...]] = (
    Companion("AVIF", (("quality", 60), ("speed", 10), ("max_threads", 1))),
    Companion("WEBP", (("quality", 80), ("method", 2))),
)


def thumbnail_companions() -> tuple[Companion, ...]:
    """The companion encodings this build writes, best first."""
    return tuple(c for c in THUMBNAIL_COMPANIONS if c.encodable)


def thumbnail_files() -> int:
    """How many thumbnail files an opaque image gets from this build: every size, each with its companions."""
    return len(THUMBNAIL_SIZES) * (1 + len(thumbnail_companions()))


def thumbnail_extensions() -> tuple[str, ...]:
    """Every extension a thumbnail may be stored with by this build: the companions', then the thumbnails' own."""
    names = [c.format_name for c in thumbnail_companions()] + [THUMBNAIL_OPAQUE_FORMAT, THUMBNAIL_ALPHA_FORMAT]
    return tuple(dict.fromkeys(FORMATS_BY_NAME[name].extension for name in names))


# --- renditions ------------------------------------------------------------------------------------

RenditionKind = Literal["thumbnail", "display"]


@dataclass(frozen=True)
class RenditionSpec:
    """A derived image we make from every upload: its name on the wire and in keys, and its longest side."""

    name: str  # "600": the key in ``thumbnails`` and the ``size=`` a request names
    longest_side: int  # pixels; never upscaled
    kind: RenditionKind = "thumbnail"


# Largest first: the pipeline makes each from the one before (a cascade).
RENDITIONS: Final[tuple[RenditionSpec, ...]] = (
    RenditionSpec("display", 2560, kind="display"),
    RenditionSpec("600", 600),
    RenditionSpec("300", 300),
    RenditionSpec("150", 150),
)
DISPLAY_LONGEST_SIDE: Final = next(r.longest_side for r in RENDITIONS if r.kind == "display")
THUMBNAIL_SIZES: Final[tuple[int, ...]] = tuple(r.longest_side for r in RENDITIONS if r.kind == "thumbnail")
# The size ``GET /images/{id}/thumbnail`` serves when none is named, and the one ``thumbnail_url`` points at.
DEFAULT_THUMBNAIL_SIZE: Final = 300

# --- visibilities ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visibility:
    name: str
    in_gallery: bool  # listed in the public gallery
    anyone_with_link: bool  # readable by anyone who has the id
    needs_owner: bool  # only a signed-in uploader may choose it (nobody could see an anonymous private image)
    description: str


VISIBILITY_LEVELS: Final[tuple[Visibility, ...]] = (
    Visibility("public", True, True, False, "listed in the public gallery and readable by anyone"),
    Visibility("unlisted", False, True, False, "readable by anyone with the link, not listed"),
    Visibility("private", False, False, True, "readable by its owner only"),
)
VISIBILITIES: Final[tuple[str, ...]] = tuple(v.name for v in VISIBILITY_LEVELS)
DEFAULT_VISIBILITY: Final = "public"

# --- fixed limits (stage-dependent ones are settings) ------------------------------------------------

PASSWORD_MIN_CHARS: Final = 8
PASSWORD_MAX_BYTES: Final = 72  # bcrypt reads at most 72 bytes (chalicelib/auth/passwords.py)
FILENAME_MAX_CHARS: Final = 200

# --- the public view ---------------------------------------------------------------------------------


def public_facts(settings: Settings) -> dict[str, Any]:
    """The facts a client needs, as JSON-ready data: what ``config.js`` and the OpenAPI document publish.

    Only what a browser may know: accepted formats of *this* build, rendition sizes, visibilities and the public
    limits (upload sizes, pixels, page sizes, password and filename lengths).
    """
    accepted = accepted_formats()
    return {
        "formats": [
            {
                "name": f.name,
                "label": f.label,
                "mime_type": f.mime_type,
                "extension": f.extension,
                "extensions": list(f.extensions),
                "browsers_display": f.browsers_display,
            }
            for f in accepted
        ],
        # Every Content-Type the upload form takes (aliases too: a browser may call a .heif file image/heif).
        "uploadable_types": [m for f in accepted for m in (f.mime_type, *f.mime_aliases)],
        "accept": ",".join(
            [m for f in accepted for m in (f.mime_type, *f.mime_aliases)]
            + [f".{ext}" for f in accepted for ext in f.extensions]
        ),
        "renditions": [{"name": r.name, "longest_side": r.longest_side, "kind": r.kind} for r in RENDITIONS],
        "thumbnail_sizes": sorted(THUMBNAIL_SIZES),
        # The other encodings every thumbnail also has (best first: the order of <picture>'s <source> elements);
        # an image's ``links.thumbnail_sources`` names them by this extension.
        "thumbnail_companions": [
            {"name": c.format.name, "mime_type": c.format.mime_type, "extension": c.format.extension}
            for c in thumbnail_companions()
        ],
        "default_thumbnail_size": DEFAULT_THUMBNAIL_SIZE,
        "visibilities": [
            {
                "name": v.name,
                "in_gallery": v.in_gallery,
                "anyone_with_link": v.anyone_with_link,
                "needs_owner": v.needs_owner,
                "description": v.description,
            }
            for v in VISIBILITY_LEVELS
        ],
        "default_visibility": DEFAULT_VISIBILITY,
        "limits": {
            "max_upload_bytes": settings.max_upload_bytes,
            "api_upload_max_bytes": settings.api_upload_max_bytes,
            "max_image_pixels": settings.max_image_pixels,
            "page_size_default": settings.page_size_default,
            "page_size_max": settings.page_size_max,
            "password_min_chars": PASSWORD_MIN_CHARS,
            "password_max_bytes": PASSWORD_MAX_BYTES,
            "filename_max_chars": FILENAME_MAX_CHARS,
            # Files above the threshold go up as S3 multipart uploads, in parts of the part size.
            "multipart_threshold_bytes": settings.multipart_threshold_bytes,
            "multipart_part_bytes": settings.multipart_part_bytes,
        },
    }
