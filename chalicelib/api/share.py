"""Share pages and oEmbed: what a chat app, a forum or a search engine sees when someone pastes a link.

``GET /{ref}`` (a short id, or an image's UUID id) renders the page server-side: readable without JavaScript,
with OpenGraph and Twitter card tags, a canonical URL and oEmbed discovery; then loads the site's interactive
viewer (``web/js/pages/image.js``) for people. The page carries the image's public metadata in a JSON data block
(:func:`image_data_block`), so an anonymous visitor's viewer asks the API nothing: a view of a page the CDN has
cached reaches neither API Gateway nor a Lambda. ``GET /api/v1/oembed?url=`` answers the oEmbed JSON
(https://oembed.com, type ``photo``).

What a page may reveal: a ready public or unlisted image's name, size and renditions. Anything else (private,
pending, rejected, deleted, never existed) gets the same bare 404 page with nothing about the image in it (no
data block); the viewer script then asks the API with the visitor's own token, so an owner still sees their
private image (a signed-in visitor's viewer asks the API on a public page too: it may be the owner's). The
page is rendered for an anonymous visitor only (browsers send no bearer token on navigation), which is also why
the CDN may cache it. Unlisted pages carry ``noindex``. Every value written into the HTML is escaped: filenames
are user input.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from chalice.app import Blueprint, Response

from chalicelib import catalog, composition, delivery
from chalicelib.api import bodies, presenters
from chalicelib.api import openapi as oa
from chalicelib.api.responses import handles_errors, json_response
from chalicelib.errors import ImageNotFound, ValidationFailed
from chalicelib.records import READY, Image
from chalicelib.services.images import ANONYMOUS
from chalicelib.settings import Settings, get_settings

share_api = Blueprint(__name__)

PROVIDER_NAME = "Chitram"
IMAGE_DATA_ID = "image-data"  # the page's JSON data block: what the viewer script shows without asking the API
PREVIEW_SIZES = ("600", "300", "150")  # og:image: the largest thumbnail there is (a display rendition first)
NOT_FOUND_BODY = (
    '<section class="state-card full"><h1>Image not found</h1><p>There is no image at this address.</p></section>'
)
_HTML_HEADERS = {"Content-Type": "text/html; charset=utf-8", "X-Content-Type-Options": "nosniff"}


def _absolute(path: str) -> str:
    return get_settings().site_origin.rstrip("/") + path


def _scaled(image: Image, longest: int) -> tuple[int, int]:
    """The size of a rendition whose longest side is at most ``longest`` (renditions never upscale)."""
    width, height = image.width or 0, image.height or 0
    side = max(width, height)
    if side <= longest or side == 0:
        return width, height
    return max(1, round(width * longest / side)), max(1, round(height * longest / side))


def preview(image: Image) -> tuple[str, int, int] | None:
    """(absolute URL, width, height) of the rendition a link preview shows: display, else the largest thumbnail."""
    for name in ("display", *PREVIEW_SIZES):
        key = image.display_key if name == "display" else image.thumbnails.get(name)
        if key:
            side = max(image.width or 0, image.height or 0)
            longest = min(side, catalog.DISPLAY_LONGEST_SIDE) if name == "display" else int(name)
            width, height = _scaled(image, longest)
            path = delivery.rendition_path(image.ref, name, delivery.extension_of(key))
            return _absolute(path), width, height
    return None


def shareable(ref: str) -> Image | None:
    """The image a share page may show to anyone: ready, and public or unlisted; None for everything else."""
    if not delivery.is_image_ref(ref):
        return None
    try:
        image, _ = composition.image_service().get(ref, ANONYMOUS)
    except ImageNotFound:
        return None
    if image.status != READY or image.visibility not in ("public", "unlisted"):
        return None
    return image


def image_data_block(image: Image) -> str:
    """The image's metadata as anyone may read it from the API (``GET /api/v1/images/{id}`` without a token), in a
    ``<script type="application/json">`` block: data, never run (the CSP's ``script-src 'self'`` stays whole), so
    the viewer script shows the image without an API call and a page the CDN has cached costs no Lambda. ``<``,
    ``>`` and ``&`` are written as JSON escapes, so a filename cannot close the block or open a comment."""
    data = {**presenters.describe(image), "is_owner": False}
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return f'<script type="application/json" id="{IMAGE_DATA_ID}">{text}</script>'


def _meta(attribute: str, name: str, content: object) -> str:
    return f'<meta {attribute}="{html.escape(name)}" content="{html.escape(str(content))}">'


def render_page(image: Image | None, ref: str) -> str:
    """The share page: the image's card for a shareable image, else a bare not-found shell."""
    esc = html.escape
    head: list[str] = []
    body = NOT_FOUND_BODY
    title = "Image not found"
    if image is None:
        head.append('<meta name="robots" content="noindex">')
        view_ref = ref if delivery.is_image_ref(ref) else ""
    else:
        view_ref = image.ref
        title = image.filename or "Image"
        page_url = _absolute(delivery.page_path(image.ref))
        oembed = _absolute("/api/v1/oembed?" + urlencode({"url": page_url, "format": "json"}))
        head += [
            f'<link rel="canonical" href="{esc(page_url)}">',
            f'<link rel="alternate" type="application/json+oembed" href="{esc(oembed)}" title="{esc(title)}">',
            _meta("property", "og:type", "website"),
            _meta("property", "og:site_name", PROVIDER_NAME),
            _meta("property", "og:title", title),
            _meta("property", "og:url", page_url),
            _meta("name", "twitter:card", "summary_large_image"),
            _meta("name", "twitter:title", title),
        ]
        if image.visibility != "public":
            head.append('<meta name="robots" content="noindex">')
        body = f"<h1>{esc(title)}</h1>"
        if (found := preview(image)) is not None:
            url, width, height = found
            head += [
                _meta("property", "og:image", url),
                _meta("property", "og:image:width", width),
                _meta("property", "og:image:height", height),
                _meta("property", "og:image:alt", title),
                _meta("name", "twitter:image", url),
            ]
            body += (
                f'<figure class="preview"><img src="{esc(url)}" alt="{esc(title)}" width="{width}" '
                f'height="{height}"></figure>'
            )
        if image.width and image.height:
            body += f'<p class="muted">{image.width} \N{MULTIPLICATION SIGN} {image.height} px</p>'
        head.append(image_data_block(image))
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)} \N{EM DASH} {PROVIDER_NAME}</title>",
            *head,
            '<link rel="icon" href="/favicon.svg" type="image/svg+xml">',
            '<link rel="stylesheet" href="/css/style.css">',
            # The interactive viewer takes over from the server-rendered card (it reads data-image-id).
            '<script type="module" src="/js/pages/image.js"></script>',
            "</head>",
            "<body>",
            f'<main id="main" class="container" tabindex="-1"><div id="view" class="image-view" '
            f'data-image-id="{esc(view_ref)}">{body}</div></main>',
            "</body>",
            "</html>",
            "",
        ]
    )


@share_api.route("/{ref}", methods=["GET"])
@handles_errors
def share_page(ref: str) -> Response:
    image = shareable(ref)
    headers: dict[str, str | list[str]] = dict(_HTML_HEADERS)
    if image is None:
        headers["Cache-Control"] = delivery.PRIVATE_PAGE_CACHE_CONTROL
        headers["X-Robots-Tag"] = "noindex"
        return Response(body=render_page(None, ref), status_code=404, headers=headers)
    headers["Cache-Control"] = delivery.PUBLIC_PAGE_CACHE_CONTROL
    if image.visibility != "public":
        headers["X-Robots-Tag"] = "noindex"
    return Response(body=render_page(image, ref), status_code=200, headers=headers)


def _ref_from_url(url: str | None) -> str:
    """The image reference in a share page URL on our origin; ``ImageNotFound`` for any other URL."""
    if not url:
        raise ValidationFailed("url is required.", field="url")
    parts = urlsplit(url)
    origin = urlsplit(get_settings().site_origin)
    ref = parts.path.lstrip("/")
    if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc) or not delivery.is_image_ref(ref):
        raise ImageNotFound(url=url)
    return ref


def _bound(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError as exc:
        raise ValidationFailed(f"{name} must be a positive integer.", field=name) from exc
    if number < 1:
        raise ValidationFailed(f"{name} must be a positive integer.", field=name)
    return number


def oembed(url: str | None, *, max_width: int | None = None, max_height: int | None = None) -> dict[str, Any]:
    """The oEmbed ``photo`` answer for a share page URL: the largest rendition within the bounds asked for."""
    ref = _ref_from_url(url)
    image = shareable(ref)
    if image is None:
        raise ImageNotFound(id=ref)
    answer: dict[str, Any] = {
        "version": "1.0",
        "type": "link",
        "title": image.filename,
        "provider_name": PROVIDER_NAME,
        "provider_url": _absolute("/"),
        "cache_age": 3600,
    }
    candidates = [
        (int(name), delivery.extension_of(key), name)
        for name, key in image.thumbnails.items()
        if name.isdigit() and image.width and image.height
    ]
    fitting = []
    for longest, extension, name in sorted(candidates, reverse=True):
        width, height = _scaled(image, longest)
        if (max_width is None or width <= max_width) and (max_height is None or height <= max_height):
            fitting.append((width, height, delivery.rendition_path(image.ref, name, extension)))
    if fitting:
        width, height, path = fitting[0]
        answer.update(type="photo", url=_absolute(path), width=width, height=height)
    smallest = sorted(candidates)[:1]
    for longest, extension, name in smallest:
        width, height = _scaled(image, longest)
        answer.update(
            thumbnail_url=_absolute(delivery.rendition_path(image.ref, name, extension)),
            thumbnail_width=width,
            thumbnail_height=height,
        )
    return answer


@share_api.route("/api/v1/oembed", methods=["GET"])
@handles_errors
def oembed_endpoint() -> Response:
    request = share_api.current_request
    fmt = bodies.query(request, "format") or "json"
    if fmt != "json":
        # The oEmbed spec suggests 501 here; we never answer a 5xx for the client's choice (consumers ask json).
        raise ValidationFailed("format must be json.", field="format", allowed=["json"])
    answer = oembed(
        bodies.query(request, "url"),
        max_width=_bound(bodies.query(request, "maxwidth"), "maxwidth"),
        max_height=_bound(bodies.query(request, "maxheight"), "maxheight"),
    )
    return json_response(answer, headers={"Cache-Control": "public, max-age=3600"})


def openapi_section(settings: Settings) -> oa.Section:
    html_page = {"text/html": {"schema": {"type": "string"}}}
    return oa.Section(
        paths={
            "/{ref}": {
                "get": {
                    "summary": "The share page of an image (HTML with OpenGraph, Twitter card and oEmbed discovery)",
                    "parameters": [oa.path_param("ref")],
                    "responses": {
                        "200": {"description": "The page", "content": html_page},
                        "404": {
                            "description": "Not found, not ready or private (the page reveals nothing)",
                            "content": html_page,
                        },
                    },
                }
            },
            "/api/v1/oembed": {
                "get": {
                    "summary": "oEmbed answer for a share page URL",
                    "parameters": [
                        oa.query_param("url", {"type": "string"}, "A share page URL", required=True),
                        oa.query_param("maxwidth", {"type": "integer", "minimum": 1}),
                        oa.query_param("maxheight", {"type": "integer", "minimum": 1}),
                        oa.query_param("format", {"type": "string", "enum": ["json"]}),
                    ],
                    "responses": {
                        "200": oa.json_response(
                            {"type": "object"}, "oEmbed JSON (type photo, or link when no rendition fits the bounds)"
                        ),
                        **oa.error_responses(400, 404),
                    },
                }
            },
        }
    )
