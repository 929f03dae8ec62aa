"""The owner's view of an image made outside this browser: private preview, visibility switch, delete."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from scripts.stack import Stack
from tests.browser.support import (
    api_call,
    new_email,
    register,
    screenshots_dir,
    session_token,
    upload_via_api,
    wait_for_loaded_image,
)
from tests.conftest import make_jpeg

pytestmark = pytest.mark.browser


def test_owner_sees_a_private_image_uploaded_elsewhere_switches_its_visibility_and_deletes_it(
    page: Page, stack: Stack, tmp_path: Path
) -> None:
    register(page, new_email())
    token = session_token(page)
    # Uploaded by a script with the user's token: this browser holds no delete token and no record of it.
    image_id = upload_via_api(stack, make_jpeg(640, 480), "studio.jpg", token=token)

    page.goto(f"/image.html?id={image_id}")
    expect(page.locator("#delete-token")).to_have_count(0)
    page.get_by_label("Who can see it").select_option("private")
    expect(page.locator("#view").get_by_role("status").filter(has_text="Now private.")).to_be_visible()
    expect(page.locator('[data-fact="visibility"]')).to_have_text("Private — only you")
    expect(page.get_by_label("Direct link", exact=True)).to_have_count(0)  # share links are withdrawn
    status, body = api_call(stack, "GET", f"/api/v1/images/{image_id}")
    assert (status, body["detail"]["code"]) == (404, "IMAGE_NOT_FOUND")  # hidden from everyone else

    # Opened afresh, the private preview still shows: the owner's presigned thumbnail, really decoded.
    page.reload()
    assert wait_for_loaded_image(page, "#preview") == (600, 450)
    assert str(page.locator("#preview").get_attribute("src")).startswith(stack.moto_url)
    page.screenshot(path=str(screenshots_dir(tmp_path) / "owner-image-page.png"), full_page=True)

    page.goto("/mine.html")
    thumbnail = f'#owned li[data-image-id="{image_id}"] img.thumb'
    width, height = wait_for_loaded_image(page, thumbnail)
    assert width == 150  # the 150 px thumbnail...
    assert height in (112, 113)  # ...whose rounding is the processor's business
    expect(page.get_by_label("Visibility of studio.jpg")).to_have_value("private")

    page.goto(f"/image.html?id={image_id}")
    page.get_by_role("button", name="Delete image…").click()
    page.get_by_role("button", name="Delete permanently").click()
    expect(page.locator("h1")).to_have_text("Image deleted")
    status, body = api_call(stack, "GET", f"/api/v1/images/{image_id}", token=token)
    assert (status, body["detail"]["code"]) == (404, "IMAGE_NOT_FOUND")


def test_owner_is_told_an_upload_repeats_an_earlier_one(page: Page, stack: Stack) -> None:
    register(page, new_email())
    token = session_token(page)
    data = make_jpeg(320, 200)
    first = upload_via_api(stack, data, "once.jpg", token=token)
    again = upload_via_api(stack, data, "twice.jpg", token=token)

    page.goto(f"/image.html?id={again}")
    notice = page.locator(f'[data-duplicate-of="{first}"]')
    expect(notice).to_contain_text("You uploaded this exact image before")
    notice.get_by_role("link", name="see the earlier copy").click()
    expect(page.locator("h1")).to_have_text("once.jpg")
    expect(page.locator("[data-duplicate-of]")).to_have_count(0)
