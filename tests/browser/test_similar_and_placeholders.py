"""The owner's image page lists their similar images; a BlurHash is painted while a rendition loads."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from playwright.sync_api import Browser, Page, Route, expect

from scripts.stack import Stack
from tests.browser.support import new_email, register, screenshots_dir, session_token, upload_via_api
from tests.conftest import FIXTURES

pytestmark = pytest.mark.browser


def smaller_copy(data: bytes) -> bytes:
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    im.thumbnail((300, 300))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=60)
    return out.getvalue()


class ImageHold:
    """Holds the page's image requests (not answered) until :meth:`release`; everything else passes."""

    def __init__(self, page: Page) -> None:
        self.held: list[Route] = []
        self.holding = True
        page.route("**/*", self._route)

    def _route(self, route: Route) -> None:
        if self.holding and route.request.resource_type == "image" and "favicon" not in route.request.url:
            self.held.append(route)
        else:
            route.continue_()

    def release(self) -> None:
        self.holding = False
        for route in self.held:
            route.continue_()


def test_owner_sees_similar_images_and_others_never_see_the_section(
    page: Page, stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    register(page, new_email())
    token = session_token(page)
    photo = (FIXTURES / "DSCN0010.jpg").read_bytes()
    first = upload_via_api(stack, photo, "beach.jpg", token=token)
    copy = upload_via_api(stack, smaller_copy(photo), "beach-small.jpg", token=token)
    other = upload_via_api(stack, (FIXTURES / "jolla.jpg").read_bytes(), "jolla.jpg", token=token)

    page.goto(f"/image.html?id={first}")
    section = page.locator("section.similar")
    expect(section.get_by_role("heading", name="Similar images")).to_be_visible()
    expect(section.locator(f'li[data-similar-id="{copy}"] a')).to_have_attribute(
        "href", f"{stack.url}/image.html?id={copy}"
    )
    expect(section.locator(f'li[data-similar-id="{other}"]')).to_have_count(0)
    page.screenshot(path=str(screenshots_dir(tmp_path) / "similar-images.png"), full_page=True)
    section.locator(f'li[data-similar-id="{copy}"] a').click()
    expect(page.locator("h1")).to_have_text("beach-small.jpg")

    stranger = browser.new_context(base_url=stack.url)
    try:
        anonymous = stranger.new_page()
        anonymous.goto(f"/image.html?id={first}")
        expect(anonymous.locator("h1")).to_have_text("beach.jpg")
        expect(anonymous.locator("section.similar")).to_have_count(0)
    finally:
        stranger.close()


def test_the_blurhash_shows_until_the_preview_loads(page: Page, stack: Stack, tmp_path: Path) -> None:
    image_id = upload_via_api(stack, (FIXTURES / "DSCN0010.jpg").read_bytes(), "held.jpg")
    hold = ImageHold(page)  # the preview is answered only after its placeholder has been seen
    page.goto(f"/image.html?id={image_id}", wait_until="domcontentloaded")  # "load" would wait for held images
    preview = page.locator('#preview[data-placeholder="blurhash"]')
    expect(preview).to_be_visible()
    page.screenshot(path=str(screenshots_dir(tmp_path) / "blurhash-placeholder.png"))
    assert "data:image/png" in str(preview.evaluate("node => node.style.backgroundImage"))

    hold.release()
    loaded = page.locator('#preview[data-loaded="true"]')
    expect(loaded).to_be_visible()
    expect(page.locator("#preview[data-placeholder]")).to_have_count(0)


def test_gallery_tiles_carry_the_placeholder_while_loading(page: Page, stack: Stack) -> None:
    image_id = upload_via_api(stack, (FIXTURES / "landscape_6.jpg").read_bytes(), "tile.jpg")
    hold = ImageHold(page)
    page.goto("/gallery.html", wait_until="domcontentloaded")
    tile = page.locator(f'a.tile[href="image.html?id={image_id}"] img.thumb[data-placeholder="blurhash"]')
    expect(tile).to_have_count(1)
    hold.release()
