"""Accounts in the site: register, sign in and out, owned uploads, "My images", visibility, 401 handling."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from scripts.stack import Stack
from tests.browser.support import (
    PASSWORD,
    PROCESSING_TIMEOUT_MS,
    api_call,
    dimensions,
    image_id_from,
    new_email,
    register,
    session_token,
    wait_for_loaded_image,
)
from tests.conftest import make_jpeg

pytestmark = pytest.mark.browser


def test_register_sign_in_upload_make_private_and_sign_out_hides_the_image(
    page: Page, stack: Stack, tmp_path: Path
) -> None:
    email = new_email()
    register(page, email)
    expect(page.locator("#account")).to_contain_text(email)
    expect(page.locator("#notice")).to_contain_text("Your account is ready")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#notice")).to_have_text("You have signed out.")
    expect(page.locator("#account").get_by_role("link", name="Sign in")).to_be_visible()

    page.locator("#account").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#account")).to_contain_text(email)

    photo = tmp_path / "mine.jpg"
    photo.write_bytes(make_jpeg(500, 400))
    page.goto("/")
    page.set_input_files("#file-input", str(photo))
    expect(page).to_have_url(re.compile(r"/image\.html\?id="), timeout=PROCESSING_TIMEOUT_MS)
    image_id = image_id_from(page)
    expect(page.locator('[data-fact="dimensions"]')).to_have_text(dimensions(500, 400))
    expect(page.locator("#delete-token")).to_have_count(0)  # owned uploads need no token
    expect(page.get_by_role("button", name="Delete image…")).to_be_visible()  # the owner may delete

    page.get_by_role("link", name="My images").click()
    row = page.locator(f'#owned li[data-image-id="{image_id}"]')
    expect(row).to_contain_text("mine.jpg")
    expect(row).to_contain_text(dimensions(500, 400))
    visibility = row.get_by_label("Visibility of mine.jpg")
    expect(visibility).to_have_value("public")

    visibility.select_option("private")
    expect(row.get_by_role("status")).to_have_text("Now private.")
    status, body = api_call(stack, "GET", f"/api/v1/images/{image_id}", token=session_token(page))
    assert (status, body["visibility"]) == (200, "private")
    page.goto(f"/image.html?id={image_id}")
    expect(page.locator('[data-fact="visibility"]')).to_have_text("Private — only you")  # the owner still sees it
    expect(page.get_by_text("This image is private")).to_be_visible()  # and is told its links will not work

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#account").get_by_role("link", name="Sign in")).to_be_visible()
    page.goto(f"/image.html?id={image_id}")
    expect(page.locator("h1")).to_have_text("Image not found")
    page.goto("/gallery.html")
    expect(page.locator(f'a.tile[href="image.html?id={image_id}"]')).to_have_count(0)


def test_owner_deletes_from_my_images_without_a_token(page: Page, stack: Stack, tmp_path: Path) -> None:
    register(page, new_email())
    photo = tmp_path / "short-lived.jpg"
    photo.write_bytes(make_jpeg(300, 300))
    page.goto("/")
    page.set_input_files("#file-input", str(photo))
    expect(page).to_have_url(re.compile(r"/image\.html\?id="), timeout=PROCESSING_TIMEOUT_MS)
    image_id = image_id_from(page)
    wait_for_loaded_image(page, "#preview")

    page.goto("/mine.html")
    row = page.locator(f'#owned li[data-image-id="{image_id}"]')
    row.get_by_role("button", name="Delete short-lived.jpg").click()
    row.get_by_role("button", name="Confirm: delete short-lived.jpg permanently").click()

    expect(page.locator("#mine-status")).to_have_text("Deleted “short-lived.jpg”.")
    expect(row).to_have_count(0)
    status, body = api_call(stack, "GET", f"/api/v1/images/{image_id}")
    assert status == 404
    assert body["detail"]["code"] == "IMAGE_NOT_FOUND"


def test_wrong_password_shows_the_servers_message_and_stays_signed_out(page: Page) -> None:
    email = new_email()
    register(page, email)
    page.get_by_role("button", name="Sign out").click()

    page.goto("/signin.html")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")
    expect(page).to_have_url(re.compile(r"/signin\.html"))
    expect(page.locator("#account").get_by_role("link", name="Sign in")).to_be_visible()


def test_register_with_a_taken_email_shows_the_servers_message(page: Page) -> None:
    email = new_email()
    register(page, email)
    page.get_by_role("button", name="Sign out").click()

    page.goto("/register.html")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("alert")).to_have_text("That email is already registered.")


def test_a_rejected_token_signs_the_browser_out(page: Page) -> None:
    page.goto("/")
    page.evaluate(
        "localStorage.setItem('chitram.session', JSON.stringify("
        "{token: 'not-a-real-token', user: {id: 'u1', email: 'ghost@example.com'}}))"
    )
    page.goto("/mine.html")  # its first call (GET /users/me/images) is answered 401

    expect(page.locator("#account").get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.locator("#notice")).to_have_text("Your session has ended. Please sign in again.")
    assert page.evaluate("localStorage.getItem('chitram.session')") is None
    expect(page.locator("#signed-out")).to_be_visible()
