"""The owner's image page lists their similar images; a BlurHash is painted while a rendition loads (gallery, image
page, share page, My images: the account's rows and this browser's uploads), and an image without one (an older
record, or an upload this browser remembered before it kept placeholders) keeps the stylesheet's look."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps
from playwright.sync_api import Browser, Locator, Page, Route, expect

from scripts.stack import Stack
from tests.browser.support import (
    PROCESSING_TIMEOUT_MS,
    api_call,
    image_id_from,
    new_email,
    register,
    screenshots_dir,
    session_token,
    upload_via_api,
)
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


def without_blurhash(route: Route) -> None:
    """Answer the request as the stack does, but with every ``"blurhash"`` in the body null (an older image)."""
    response = route.fetch()
    body = re.sub(r'"blurhash":\s*"[^"]*"', '"blurhash":null', response.text())
    assert body != response.text(), "nothing to blank: the answer carried no blurhash"
    route.fulfill(response=response, body=body)


def background_of(locator: Locator) -> dict[str, str]:
    """The element's inline background (what withPlaceholder paints) and the computed one (what shows)."""
    return dict(
        locator.evaluate(
            "node => ({inline: node.style.backgroundImage, image: getComputedStyle(node).backgroundImage,"
            " colour: getComputedStyle(node).backgroundColor})"
        )
    )


def assert_row_painted_until_loaded(row: Locator, hold: ImageHold) -> None:
    """A My images row's thumbnail shows its BlurHash while held, and drops it once the thumbnail loads."""
    expect(row).to_have_attribute("data-placeholder", "blurhash")
    assert background_of(row)["inline"].startswith('url("data:image/png')

    hold.release()
    expect(row).to_have_attribute("data-loaded", "true")
    expect(row).not_to_have_attribute("data-placeholder", re.compile(".*"))
    assert background_of(row)["inline"] == ""


def assert_row_keeps_the_placeholder_colour(row: Locator, hold: ImageHold) -> None:
    """A row with no BlurHash to paint: nothing inline, the stylesheet's colour shows, and it still loads."""
    expect(row).to_be_attached()
    background = background_of(row)
    assert (background["inline"], background["image"]) == ("", "none")
    assert background["colour"] not in ("", "transparent", "rgba(0, 0, 0, 0)")  # the stylesheet's --surface-2
    expect(row).not_to_have_attribute("data-placeholder", re.compile(".*"))

    hold.release()
    expect(row).to_have_attribute("data-loaded", "true")


def test_my_images_rows_carry_the_placeholder_while_loading(page: Page, stack: Stack) -> None:
    register(page, new_email())
    image_id = upload_via_api(stack, (FIXTURES / "landscape_6.jpg").read_bytes(), "mine.jpg", token=session_token(page))
    hold = ImageHold(page)
    page.goto("/mine.html", wait_until="domcontentloaded")
    row = page.locator(f'#owned li[data-image-id="{image_id}"] img.thumb')
    assert_row_painted_until_loaded(row, hold)


def test_my_images_rows_without_a_blurhash_keep_the_placeholder_colour(page: Page, stack: Stack) -> None:
    register(page, new_email())
    image_id = upload_via_api(stack, (FIXTURES / "landscape_6.jpg").read_bytes(), "old.jpg", token=session_token(page))
    hold = ImageHold(page)
    page.route("**/api/v1/users/me/images?*", without_blurhash)  # registered last: matched before the hold
    page.goto("/mine.html", wait_until="domcontentloaded")
    row = page.locator(f'#owned li[data-image-id="{image_id}"] img.thumb')
    assert_row_keeps_the_placeholder_colour(row, hold)


def test_the_share_page_viewer_shows_the_blurhash_until_the_preview_loads(page: Page, stack: Stack) -> None:
    image_id = upload_via_api(stack, (FIXTURES / "DSCN0010.jpg").read_bytes(), "shared.jpg")
    short = api_call(stack, "GET", f"/api/v1/images/{image_id}")[1]["short_id"]
    hold = ImageHold(page)
    page.goto(f"/{short}", wait_until="domcontentloaded")
    preview = page.locator('#preview[data-placeholder="blurhash"]')
    expect(preview).to_be_visible()
    assert background_of(preview)["inline"].startswith('url("data:image/png')

    hold.release()
    expect(page.locator('#preview[data-loaded="true"]')).to_be_visible()
    expect(page.locator("#preview[data-placeholder]")).to_have_count(0)
    assert background_of(page.locator("#preview"))["inline"] == ""


def test_the_share_page_of_an_image_without_a_blurhash_paints_nothing(page: Page, stack: Stack) -> None:
    image_id = upload_via_api(stack, (FIXTURES / "DSCN0010.jpg").read_bytes(), "older.jpg")
    short = api_call(stack, "GET", f"/api/v1/images/{image_id}")[1]["short_id"]
    hold = ImageHold(page)
    # The data block as rendered for an older record: nothing painted also shows the viewer took the block's
    # metadata (an API call would have brought the blurhash back).
    page.route(f"**/{short}", without_blurhash)
    page.goto(f"/{short}", wait_until="domcontentloaded")
    preview = page.locator("#preview")
    expect(preview).to_be_attached()  # the viewer took over from the server-rendered card
    assert background_of(preview)["inline"] == ""
    expect(preview).not_to_have_attribute("data-placeholder", re.compile(".*"))
    box = preview.bounding_box()  # its shape is reserved from the recorded dimensions all the same
    assert box is not None
    assert box["width"] > 0
    assert box["height"] > 0
    assert abs(box["width"] / box["height"] - 640 / 480) < 0.02

    hold.release()
    expect(page.locator('#preview[data-loaded="true"]')).to_be_visible()


def stored_uploads(page: Page) -> list[dict[str, Any]]:
    """What this browser remembers of its uploads (web/js/uploads-store.js)."""
    return list(page.evaluate("() => JSON.parse(localStorage.getItem('chitram.uploads') || '[]')"))


def test_a_browser_upload_row_carries_the_placeholder_while_loading(page: Page, stack: Stack) -> None:
    page.goto("/")
    page.set_input_files("#file-input", str(FIXTURES / "landscape_6.jpg"))
    expect(page).to_have_url(re.compile(r"/image\.html\?id=[\w-]+$"), timeout=PROCESSING_TIMEOUT_MS)
    image_id = image_id_from(page)
    image = api_call(stack, "GET", f"/api/v1/images/{image_id}")[1]
    [entry] = stored_uploads(page)  # the ready image's placeholder fields, kept with the entry
    assert entry["id"] == image_id
    assert entry["deleteToken"]
    assert image["blurhash"]
    assert (entry["blurhash"], entry["width"], entry["height"]) == (image["blurhash"], image["width"], image["height"])

    hold = ImageHold(page)
    page.goto("/mine.html", wait_until="domcontentloaded")
    row = page.locator(f'#recent li[data-image-id="{image_id}"] img.thumb')
    assert_row_painted_until_loaded(row, hold)


def test_a_browser_upload_stored_before_placeholders_keeps_the_placeholder_colour(page: Page, stack: Stack) -> None:
    image_id = upload_via_api(stack, (FIXTURES / "landscape_6.jpg").read_bytes(), "remembered.jpg")
    page.goto("/")  # the site's origin, for its localStorage
    # An entry as uploads-store.js wrote it before it kept placeholder fields. The token is never sent: only its
    # presence puts the row in the list.
    old_entry = {
        "id": image_id,
        "filename": "remembered.jpg",
        "deleteToken": "an-old-delete-token",
        "ownerId": None,
        "batch": "2024-01-01T00:00:00.000Z",
        "tokenShown": True,
        "uploadedAt": "2024-01-01T00:00:00.000Z",
    }
    page.evaluate("entry => localStorage.setItem('chitram.uploads', JSON.stringify([entry]))", old_entry)

    hold = ImageHold(page)
    page.goto("/mine.html", wait_until="domcontentloaded")
    item = page.locator(f'#recent li[data-image-id="{image_id}"]')
    expect(item.locator(".manage-name")).to_have_text("remembered.jpg")
    row = item.locator("img.thumb")
    assert_row_keeps_the_placeholder_colour(row, hold)
    assert stored_uploads(page) == [old_entry]  # reading it changed nothing
