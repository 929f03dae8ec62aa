"""How a view reaches an image: short ids, public paths, the CDN's path rules and caching headers, declared once.

The CloudFront distribution (``infra/cdn.py``), the local edge (``scripts/edge.py``), the share page
(``chalicelib/api/share.py``) and the storage key layout all read these facts, so the edge and the CDN cannot
route a path differently. Pure data and small functions: no I/O.

Paths on the one public origin (the CDN, or ``make run``'s edge):

    /api/*                  the API (never cached at the edge)
    /i/*                    the images bucket, under PUBLIC_PREFIX only (renditions of public and unlisted images)
    /{short_id}             the share page, rendered by the API (cached for public images)
    anything else           the static site (web/)

A short id is 8 random bytes in unpadded base64url: 11 characters of ``[A-Za-z0-9_-]``, 64 bits of randomness.
Images created before short ids existed keep their UUID, which is accepted wherever a short id is.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from typing import Final, Literal

SHORT_ID_BYTES: Final = 8
SHORT_ID_CHARS: Final = 11  # len(base64url(8 bytes)) without padding
_SHORT_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Objects the CDN may read live under this key prefix; the distribution's origin path is the same name, so the
# public path /i/x.jpg is the key public/i/x.jpg. Private renditions live anywhere else (the CDN cannot read them).
PUBLIC_ORIGIN_PATH: Final = "/public"
PUBLIC_PREFIX: Final = PUBLIC_ORIGIN_PATH.strip("/") + "/"
IMAGE_PATH_PREFIX: Final = "/i/"

# Renditions never change once written (a new upload is a new id), so anyone may keep them for a year.
IMMUTABLE_CACHE_CONTROL: Final = "public, max-age=31536000, immutable"
# A public share page: browsers for a few minutes, the CDN for an hour (a visibility change invalidates it).
PUBLIC_PAGE_CACHE_CONTROL: Final = "public, max-age=300, s-maxage=3600"
PRIVATE_PAGE_CACHE_CONTROL: Final = "private, no-store"

# Added to every /i/ response (besides nosniff): any site may embed a public rendition.
IMAGE_EXTRA_HEADERS: Final[dict[str, str]] = {"Cross-Origin-Resource-Policy": "cross-origin"}


def new_short_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(SHORT_ID_BYTES)).decode().rstrip("=")


def is_short_id(text: str) -> bool:
    return _SHORT_ID.fullmatch(text) is not None


def is_legacy_id(text: str) -> bool:
    """A UUID image id (every image before short ids, and still the table's key)."""
    return _UUID.fullmatch(text) is not None


def is_image_ref(text: str) -> bool:
    """Whether ``text`` may name an image in a public URL: a short id or a (legacy) UUID id."""
    return is_short_id(text) or is_legacy_id(text)


# --- the edge's path rules ---------------------------------------------------------------------------------

Target = Literal["api", "images", "share", "site"]


@dataclass(frozen=True)
class Behaviour:
    """One path rule of the distribution, in CloudFront's pattern syntax (``*`` any run, ``?`` one character)."""

    pattern: str
    target: Target
    why: str


# In CloudFront's order: the first pattern that matches wins; "default" takes the rest. Short ids carry no dot, so
# every site file (``/signin.html`` is also eleven characters) is claimed by ``/*.*`` before the share patterns.
BEHAVIOURS: Final[tuple[Behaviour, ...]] = (
    Behaviour("/api/*", "api", "the API; not cached, every header and query string forwarded"),
    Behaviour("/i/*", "images", "renditions straight from the bucket's public prefix; cached a year"),
    Behaviour("/*.*", "site", "site files (all have an extension; short ids never do)"),
    Behaviour("/" + "?" * SHORT_ID_CHARS, "share", "share pages by short id, rendered by the API"),
    Behaviour("/????????-????-????-????-????????????", "share", "share pages by legacy UUID id"),
)
DEFAULT_TARGET: Final[Target] = "site"


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern))


_COMPILED: Final = tuple((_glob(b.pattern), b.target) for b in BEHAVIOURS)


def route(path: str) -> Target:
    """Where the distribution sends ``path`` (no query string): the same answer CloudFront gives."""
    for pattern, target in _COMPILED:
        if pattern.fullmatch(path):
            return target
    return DEFAULT_TARGET


# --- public paths of an image ------------------------------------------------------------------------------


def page_path(ref: str) -> str:
    return f"/{ref}"


def direct_path(ref: str, extension: str) -> str:
    """The served copy: ``/i/{ref}.{ext}``."""
    return f"{IMAGE_PATH_PREFIX}{ref}.{extension}"


def rendition_path(ref: str, name: str, extension: str) -> str:
    """A thumbnail or the display rendition: ``/i/{ref}/{name}.{ext}`` (``600``, ``display``...)."""
    return f"{IMAGE_PATH_PREFIX}{ref}/{name}.{extension}"


def public_key(path: str) -> str:
    """The bucket key behind a public ``/i/...`` path (what the CDN's origin path adds)."""
    return PUBLIC_ORIGIN_PATH.lstrip("/") + path


def image_paths_prefix(ref: str) -> list[str]:
    """The CDN paths to invalidate when an image leaves the public prefix (its file, its renditions, its page)."""
    return [f"{IMAGE_PATH_PREFIX}{ref}.*", f"{IMAGE_PATH_PREFIX}{ref}/*", page_path(ref)]


def extension_of(key: str) -> str:
    """The extension of a stored key (``thumbs/x/600.webp`` -> ``webp``)."""
    return key.rsplit(".", 1)[-1] if "." in key.rsplit("/", 1)[-1] else ""
