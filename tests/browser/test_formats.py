"""Formats for viewers in a real browser (issue 10): ``<picture>`` with the companion encodings, ``srcset``/``sizes``
at the thumbnail widths, and share page views that need no API call.

- The gallery, the image page and the share page render ``<picture>`` with a WebP ``<source>`` (and AVIF first
  where this build makes it) before the JPEG ``<img>``; Chromium's ``currentSrc`` is the first companion type it
  supports. A build without AVIF (its config.js lists WebP alone) gets the WebP.
- A 2x device-scale context picks the larger ``srcset`` candidate (600 instead of 300 for a gallery tile).
- A share page the CDN has cached (replayed here from a first fetch) shows the image and its sharing panel
  without a single API request (the API's access log is counted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, Route, expect

from chalicelib import catalog
from scripts.stack import Stack
from tests.browser.conftest import PageProblems
from tests.browser.support import (
    PROCESSING_TIMEOUT_MS,
    api_call,
    new_email,
    register,
    session_token,
    upload_via_api,
)
from tests.conftest import make_jpeg
from tests.integration.test_edge_http import settle_api_log

pytestmark = pytest.mark.browser

COMPANIONS = [c.format for c in catalog.thumbnail_companions()]


def public_image(stack: Stack, width: int = 1200, height: int = 800) -> dict[str, Any]:
    image_id = upload_via_api(stack, make_jpeg(width, height), "harbour.jpg")
    status, body = api_call(stack, "GET", f"/api/v1/images/{image_id}")
    assert status == 200
    return dict(body)


@contextmanager
def opened(browser: Browser, stack: Stack, *, scale: float = 1, width: int = 1440, height: int = 900) -> Iterator[Page]:
    """A fresh context and page; fails on uncaught errors and CSP violations like the ``page`` fixture."""
    context = browser.new_context(
        base_url=stack.url, viewport={"width": width, "height": height}, device_scale_factor=scale
    )
    problems = PageProblems()
    page = context.new_page()
    page.on("console", problems.on_console)
    page.on("pageerror", problems.on_page_error)
    try:
        yield page
    finally:
        context.close()
    assert problems.errors == [], f"uncaught errors in the page: {problems.errors}"
    assert problems.csp_violations == [], f"CSP violations: {problems.csp_violations}"


def picture_of(page: Page, img_selector: str) -> dict[str, Any]:
    """The loaded <img>'s picture: its sources (type, srcset, sizes) and what Chromium chose (currentSrc)."""
    img = page.locator(img_selector)
    expect(img).to_have_js_property("complete", True, timeout=PROCESSING_TIMEOUT_MS)
    expect(img).to_have_attribute("data-loaded", "true", timeout=PROCESSING_TIMEOUT_MS)
    return dict(
        img.evaluate(
            """img => ({
                parent: img.parentElement.tagName,
                sources: [...img.parentElement.querySelectorAll('source')].map(
                    s => ({type: s.type, srcset: s.srcset, sizes: s.sizes})),
                currentSrc: img.currentSrc, srcset: img.srcset, src: img.src,
                naturalWidth: img.naturalWidth,
            })"""
        )
    )


def tile_of(page: Page, image: dict[str, Any]) -> str:
    return f'a.tile[href="image.html?id={image["id"]}"] img'


def assert_companion_sources(chosen: dict[str, Any], image: dict[str, Any]) -> None:
    assert chosen["parent"] == "PICTURE"
    assert [s["type"] for s in chosen["sources"]] == [f.mime_type for f in COMPANIONS]
    assert "image/webp" in [s["type"] for s in chosen["sources"]]
    short = image["short_id"]
    for source, fmt in zip(chosen["sources"], COMPANIONS, strict=True):
        widths = re.findall(rf"/i/{short}/(\d+)\.{fmt.extension} (\d+)w", source["srcset"])
        assert widths == [("150", "150"), ("300", "300"), ("600", "600")]  # a 1200x800 photo: widths = sizes
    assert re.search(rf"/i/{short}/600\.jpg 600w", chosen["srcset"])  # the JPEG <img> has the same widths
    assert chosen["src"].endswith(".jpg")


@pytest.mark.parametrize("scale", [1, 2])
def test_gallery_tiles_are_pictures_and_2x_screens_get_the_larger_rendition(
    browser: Browser, stack: Stack, scale: int
) -> None:
    image = public_image(stack)
    with opened(browser, stack, scale=scale) as page:
        page.goto("/gallery.html")
        chosen = picture_of(page, tile_of(page, image))
        assert_companion_sources(chosen, image)
        # Chromium takes the first type it can show: AVIF where the build makes it, else WebP.
        best = COMPANIONS[0].extension
        expected = "300" if scale == 1 else "600"  # a tile is at most 300 CSS px wide: 2x needs the 600
        assert chosen["currentSrc"].endswith(f"/i/{image['short_id']}/{expected}.{best}"), chosen["currentSrc"]


def test_without_avif_chromium_chooses_the_webp_source(browser: Browser, stack: Stack) -> None:
    """A build without an AVIF encoder publishes WebP alone in config.js: the <picture> offers WebP, and it wins."""
    image = public_image(stack)

    def webp_only(route: Route) -> None:
        response = route.fetch()
        text = response.text()
        companions = [c for c in json.loads(_export(text, "THUMBNAIL_COMPANIONS")) if c["extension"] == "webp"]
        text = re.sub(
            r"export const THUMBNAIL_COMPANIONS = .*;",
            f"export const THUMBNAIL_COMPANIONS = {json.dumps(companions)};",
            text,
        )
        route.fulfill(response=response, body=text)

    with opened(browser, stack) as page:
        page.route("**/config.js", webp_only)
        page.goto("/gallery.html")
        chosen = picture_of(page, tile_of(page, image))
        assert [s["type"] for s in chosen["sources"]] == ["image/webp"]
        assert chosen["currentSrc"].endswith(f"/i/{image['short_id']}/300.webp"), chosen["currentSrc"]
        page.goto(f"/image.html?id={image['id']}")
        preview = picture_of(page, "#preview")
        assert preview["currentSrc"].endswith(f"/i/{image['short_id']}/600.webp"), preview["currentSrc"]


def _export(config_js: str, name: str) -> str:
    found = re.search(rf"export const {name} = (.*);", config_js)
    assert found, name
    return found.group(1)


def test_the_image_page_preview_is_a_picture_from_the_cdn(browser: Browser, stack: Stack) -> None:
    image = public_image(stack)
    with opened(browser, stack, scale=2) as page:
        page.goto(f"/image.html?id={image['id']}")
        chosen = picture_of(page, "#preview")
        assert_companion_sources(chosen, image)
        assert chosen["currentSrc"].endswith(f"/i/{image['short_id']}/600.{COMPANIONS[0].extension}")
        assert chosen["src"] == image["links"]["thumbnails"]["600"]  # the fallback is the CDN's JPEG, not the API


def test_a_cached_share_page_view_makes_no_api_request(browser: Browser, stack: Stack) -> None:
    image = public_image(stack)
    page_url = image["links"]["page"]
    cached = requests.get(page_url, timeout=10)  # what the CDN keeps for an hour (public, s-maxage)
    assert cached.status_code == 200

    def from_the_cdn_cache(route: Route) -> None:
        route.fulfill(status=200, headers=dict(cached.headers), body=cached.content)

    with opened(browser, stack, scale=2) as page:
        page.route(page_url, from_the_cdn_cache)
        before = settle_api_log(stack)
        page.goto(page_url)
        chosen = picture_of(page, "#preview")
        assert_companion_sources(chosen, image)
        expect(page.get_by_role("heading", name="harbour.jpg")).to_be_visible()
        expect(page.get_by_label("Direct link", exact=True)).to_have_value(image["links"]["direct"])
        page.wait_for_load_state("networkidle")
        assert settle_api_log(stack) == before, "a cached share page view reached the API"


def test_the_owner_on_a_share_page_still_gets_the_owner_s_controls(browser: Browser, stack: Stack) -> None:
    """The owner flow: a visitor with a session may be the owner (visibility switch, delete), so the viewer asks
    the API (the data block is the anonymous view)."""
    with opened(browser, stack) as page:
        register(page, new_email())
        image_id = upload_via_api(stack, make_jpeg(900, 600), "mine.jpg", token=session_token(page))
        _, image = api_call(stack, "GET", f"/api/v1/images/{image_id}")
        page.goto(image["links"]["page"])
        expect(page.get_by_role("heading", name="Visibility")).to_be_visible(timeout=PROCESSING_TIMEOUT_MS)
        expect(page.get_by_role("button", name="Delete image…")).to_be_visible()
