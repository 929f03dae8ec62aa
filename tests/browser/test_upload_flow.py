"""Uploading through the site: the upload page, the share page, the gallery, delete, rejections, 429, keyboard."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from playwright.sync_api import FileChooser, FilePayload, Page, Route, expect

from chalicelib import catalog
from scripts.stack import Stack
from tests.browser.support import (
    PROCESSING_TIMEOUT_MS,
    api_call,
    dimensions,
    image_id_from,
    screenshots_dir,
    upload_via_api,
    wait_for_loaded_image,
)
from tests.conftest import FIXTURES, make_jpeg

pytestmark = pytest.mark.browser

SHARE_PAGE = re.compile(r"/image\.html\?id=[\w-]+$")


def upload_one(page: Page, path: Path) -> str:
    """Pick one file on the upload page and wait for the share page it leads to; returns the image id."""
    page.goto("/")
    page.set_input_files("#file-input", str(path))
    expect(page).to_have_url(SHARE_PAGE, timeout=PROCESSING_TIMEOUT_MS)
    return image_id_from(page)


def test_uploaded_jpeg_reaches_ready_and_share_page_shows_facts_links_and_token_once(
    page: Page, stack: Stack, tmp_path: Path
) -> None:
    photo = tmp_path / "harbour.jpg"
    photo.write_bytes(make_jpeg(800, 500))
    page.goto("/")
    page.screenshot(path=str(screenshots_dir(tmp_path) / "upload-page.png"), full_page=True)

    image_id = upload_one(page, photo)

    expect(page.locator("h1")).to_have_text("harbour.jpg")
    expect(page.locator('[data-fact="dimensions"]')).to_have_text(dimensions(800, 500))
    expect(page.locator('[data-fact="size"]')).to_contain_text("KB")
    assert wait_for_loaded_image(page, "#preview") == (600, 375)  # the 600 px thumbnail, really decoded
    short = api_call(stack, "GET", f"/api/v1/images/{image_id}")[1]["short_id"]
    thumb = f"{stack.url}/i/{short}/600.jpg"
    # Stable CDN links on the one origin; snippets embed the 600 px rendition at its size, linked to the page.
    expect(page.get_by_label("Direct link", exact=True)).to_have_value(f"{stack.url}/i/{short}.jpg")
    expect(page.get_by_label("Page link", exact=True)).to_have_value(f"{stack.url}/{short}")
    expect(page.get_by_label("Markdown", exact=True)).to_have_value(f"[![harbour.jpg]({thumb})]({stack.url}/{short})")
    expect(page.get_by_label("HTML", exact=True)).to_have_value(
        f'<a href="{stack.url}/{short}"><img src="{thumb}" alt="harbour.jpg" width="600" height="375"></a>'
    )
    expect(page.get_by_label("BBCode", exact=True)).to_have_value(f"[url={stack.url}/{short}][img]{thumb}[/img][/url]")
    token = page.get_by_label("Delete token", exact=True).input_value()
    assert len(token) >= 40
    expect(page.locator("#delete-token")).to_contain_text("only time it is shown")

    page.reload()
    expect(page.locator('[data-fact="dimensions"]')).to_have_text(dimensions(800, 500))
    expect(page.locator("#delete-token")).to_have_count(0)  # shown once...
    expect(page.get_by_role("button", name="Delete image…")).to_be_visible()  # ...but still usable here


def test_camera_file_with_exif_orientation_6_shows_upright_dimensions(page: Page, stack: Stack, tmp_path: Path) -> None:
    photo = tmp_path / "landscape_6.jpg"
    shutil.copyfile(FIXTURES / "landscape_6.jpg", photo)
    with Image.open(photo) as stored:
        upright_width, upright_height = ImageOps.exif_transpose(stored).size
        assert stored.size == (upright_height, upright_width)  # the file itself is stored sideways

    image_id = upload_one(page, photo)

    status, body = api_call(stack, "GET", f"/api/v1/images/{image_id}")
    assert status == 200
    assert (body["width"], body["height"]) == (upright_width, upright_height)
    expect(page.locator('[data-fact="dimensions"]')).to_have_text(dimensions(upright_width, upright_height))
    shown_width, shown_height = wait_for_loaded_image(page, "#preview")
    assert shown_width > shown_height  # the thumbnail is upright too: landscape


def test_gallery_shows_new_upload_with_its_name_as_text(page: Page, tmp_path: Path) -> None:
    # A filename is user input: it must show as text, never become markup.
    name = "<img src=x onerror=alert(1)> sunset.jpg"
    page.goto("/")
    page.set_input_files(
        "#file-input",
        files=[FilePayload(name=name, mimeType="image/jpeg", buffer=make_jpeg(640, 480, color=(30, 90, 200)))],
    )
    expect(page).to_have_url(SHARE_PAGE, timeout=PROCESSING_TIMEOUT_MS)
    image_id = image_id_from(page)
    expect(page.locator("h1")).to_have_text(name)

    page.goto("/gallery.html")
    tile = page.locator(f'a.tile[href="image.html?id={image_id}"]')
    expect(tile).to_contain_text(name)
    expect(tile).to_contain_text(dimensions(640, 480))
    expect(page.locator("#gallery img:not(.thumb)")).to_have_count(0)
    width, _ = wait_for_loaded_image(page, f'a.tile[href="image.html?id={image_id}"] img')
    assert width == 300
    expect(page.locator("#gallery li").first.locator("a.tile")).to_have_attribute(
        "href", f"image.html?id={image_id}"
    )  # newest first
    page.screenshot(path=str(screenshots_dir(tmp_path) / "gallery.png"), full_page=True)


def test_gallery_pages_with_the_cursor_until_every_image_is_shown_once(page: Page, stack: Stack) -> None:
    ids = [upload_via_api(stack, make_jpeg(120, 90), f"paged-{n}.jpg") for n in range(3)]
    status, first = api_call(stack, "GET", "/api/v1/images?limit=100")
    assert status == 200
    assert first["next_cursor"] is None  # the test session has far fewer than 100 public images
    public_ids = [item["id"] for item in first["items"]]

    page.goto("/gallery.html?per_page=2")  # many pages, each fetched as the end of the list comes into view

    tiles = page.locator("#gallery a.tile")
    # With many public images (other tiers ran first) the end leaves the view: scroll to it, a page at a time.
    while (count := tiles.count()) < len(public_ids):
        page.locator("#sentinel").scroll_into_view_if_needed()
        page.wait_for_function("n => document.querySelectorAll('#gallery a.tile').length > n", arg=count)
    expect(tiles).to_have_count(len(public_ids))
    expect(page.locator("#load-more")).to_be_hidden()
    shown = [
        str(href).removeprefix("image.html?id=")
        for href in tiles.evaluate_all("as => as.map(a => a.getAttribute('href'))")
    ]
    assert shown == public_ids
    assert shown[:3] == list(reversed(ids))  # newest first


def test_delete_with_the_token_removes_the_image_everywhere(page: Page, stack: Stack, tmp_path: Path) -> None:
    photo = tmp_path / "to-delete.jpg"
    photo.write_bytes(make_jpeg(320, 240))
    image_id = upload_one(page, photo)
    expect(page.locator('[data-fact="dimensions"]')).to_have_text(dimensions(320, 240))

    page.get_by_role("button", name="Delete image…").click()
    page.get_by_role("button", name="Delete permanently").click()

    expect(page.locator("h1")).to_have_text("Image deleted")
    status, body = api_call(stack, "GET", f"/api/v1/images/{image_id}")
    assert (status, body) == (
        404,
        {"detail": {"code": "IMAGE_NOT_FOUND", "message": "Image not found.", "details": {"id": image_id}}},
    )
    page.goto("/gallery.html")
    expect(page.locator("#gallery")).not_to_contain_text("to-delete.jpg")
    page.goto("/mine.html")
    expect(page.locator("#recent")).not_to_contain_text("to-delete.jpg")
    page.goto(f"/image.html?id={image_id}")
    expect(page.locator("h1")).to_have_text("Image not found")


def test_text_file_named_jpg_is_rejected_with_the_reason_in_words(page: Page, tmp_path: Path) -> None:
    fake = tmp_path / "notes.jpg"
    fake.write_text("these are my shopping notes, not a picture\n" * 20)
    page.goto("/")
    page.set_input_files("#file-input", str(fake))

    row = page.locator(".upload-item", has_text="notes.jpg")
    expect(row).to_have_attribute("data-state", "rejected", timeout=PROCESSING_TIMEOUT_MS)
    expect(row.locator(".upload-status")).to_have_text(
        "Rejected: This file is not an image: its contents are not a picture, whatever its name says."
    )
    expect(page).to_have_url(re.compile(r"/$"))  # stays on the upload page


def test_several_files_each_get_their_own_progress_and_status_line(page: Page, tmp_path: Path) -> None:
    first = tmp_path / "first.jpg"
    first.write_bytes(make_jpeg(300, 200))
    second = tmp_path / "second.jpg"
    second.write_bytes(make_jpeg(200, 300))
    readme = tmp_path / "readme.txt"
    readme.write_text("not an image")
    page.goto("/")
    page.set_input_files("#file-input", [str(first), str(second), str(readme)])

    for name in ("first.jpg", "second.jpg"):
        row = page.locator(".upload-item", has_text=name)
        expect(row).to_have_attribute("data-state", "ready", timeout=PROCESSING_TIMEOUT_MS)
        expect(row.locator("progress")).to_have_attribute("value", "100")
        expect(row.get_by_role("link", name="Open share page")).to_have_attribute(
            "href", re.compile(r"^image\.html\?id=[\w-]+$")
        )
    refused = page.locator(".upload-item", has_text="readme.txt")
    expect(refused).to_have_attribute("data-state", "failed")
    labels = [f.label for f in catalog.accepted_formats()]  # the catalog's, since HEIC joined (issue 12)
    expect(refused.locator(".upload-status")).to_have_text(
        f"“text/plain” files cannot be uploaded. Choose a {', '.join(labels[:-1])} or {labels[-1]} image."
    )
    expect(page.locator("#uploads-summary")).to_have_text("2 ready · 1 not uploaded")
    expect(page).to_have_url(re.compile(r"/$"))  # several files: no jump to one share page


def test_rate_limited_upload_says_slow_down_with_the_retry_after_seconds(page: Page, tmp_path: Path) -> None:
    # The limiter is lifted for this tier (every browser is 127.0.0.1); the answer it gives is stubbed here.
    def too_many(route: Route) -> None:
        route.fulfill(
            status=429,
            headers={
                "Content-Type": "application/json",
                "Retry-After": "42",
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Expose-Headers": "Retry-After",
            },
            body=json.dumps(
                {
                    "detail": {
                        "code": "RATE_LIMIT_EXCEEDED",
                        "message": "Too many requests. Try again later.",
                        "details": {"retry_after": 42},
                    }
                }
            ),
        )

    page.route("**/api/v1/images/upload-url", too_many)
    photo = tmp_path / "busy.jpg"
    photo.write_bytes(make_jpeg(100, 100))
    page.goto("/")
    page.set_input_files("#file-input", str(photo))

    row = page.locator(".upload-item", has_text="busy.jpg")
    expect(row).to_have_attribute("data-state", "waiting")
    expect(row.locator(".upload-status")).to_have_text(
        re.compile(r"^Slow down: Too many requests\. Try again later\. Retrying in (42|41|40) s\.$")
    )


def test_api_error_message_is_shown_on_the_file_row(page: Page, tmp_path: Path) -> None:
    photo = tmp_path / "big.jpg"
    photo.write_bytes(make_jpeg(100, 100))

    def too_large(route: Route) -> None:
        route.fulfill(
            status=413,
            headers={"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
            body=json.dumps({"detail": {"code": "FILE_TOO_LARGE", "message": "The file is too large.", "details": {}}}),
        )

    page.route("**/api/v1/images/upload-url", too_large)
    page.goto("/")
    page.set_input_files("#file-input", str(photo))

    row = page.locator(".upload-item", has_text="big.jpg")
    expect(row).to_have_attribute("data-state", "failed")
    expect(row.locator(".upload-status")).to_have_text("The file is too large.")
    expect(row.get_by_role("button", name="Retry")).to_be_visible()


def test_unknown_image_id_shows_not_found(page: Page) -> None:
    page.goto("/image.html?id=00000000-0000-4000-8000-000000000000")
    expect(page.locator("h1")).to_have_text("Image not found")
    expect(page).to_have_title("Image not found — Chitram")


def test_keyboard_reaches_the_drop_zone_and_opens_the_file_picker(page: Page) -> None:
    choosers: list[FileChooser] = []
    # Playwright turns on file-chooser interception asynchronously when the first listener is added; adding it
    # before the page loads keeps a real (uncaught) picker from opening in a race.
    page.on("filechooser", lambda chooser: choosers.append(chooser))
    page.goto("/")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "dropzone":
            break
    expect(page.locator("#dropzone")).to_be_focused()
    expect(page.get_by_role("button", name="Drag & drop images here, or choose files")).to_be_focused()
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    assert chooser.value.is_multiple()
    assert chooser.value.element.get_attribute("id") == "file-input"
    assert len(choosers) == 1
