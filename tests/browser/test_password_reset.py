"""Password reset through the site: the request form, the mailed link, the new password, a used link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

from scripts.stack import Stack
from tests.browser.support import (
    PASSWORD,
    new_email,
    register,
    screenshots_dir,
    sign_in,
    wait_for_mail,
)

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new secret"
NEUTRAL = "If an account uses that address, a link to reset its password is on its way."


def test_reset_link_sets_a_new_password_once_and_the_old_one_stops_working(
    page: Page, stack: Stack, tmp_path: Path
) -> None:
    email = new_email()
    register(page, email)
    page.get_by_role("button", name="Sign out").click()

    # Ask from the sign-in page: the address typed there comes along.
    page.goto("/signin.html")
    page.get_by_label("Email").fill(email)
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(re.compile(r"/reset-password\.html$"))
    expect(page.get_by_label("Email")).to_have_value(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.locator("#request-done")).to_contain_text(NEUTRAL)
    # An address nobody registered gets the very same words.
    page.get_by_label("Email").fill(new_email())
    page.get_by_role("button", name="Send reset link").click()
    expect(page.locator("#request-done")).to_contain_text(NEUTRAL)

    link = wait_for_mail(stack, email, "password_reset")["data"]["link"]
    assert link.startswith(f"{stack.web_url}/reset-password.html#token=")
    token = link.split("#token=", 1)[1]

    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request))
    page.goto(link)
    # The token leaves the address bar (and the history entry) as soon as the page has read it.
    expect(page).to_have_url(f"{stack.web_url}/reset-password.html")
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD + "?")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("alert")).to_have_text("The two passwords do not match.")
    page.screenshot(path=str(screenshots_dir(tmp_path) / "reset-password.png"), full_page=True)

    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
    expect(page.locator("#done-message")).to_have_text("The password has been changed. Sign in with the new one.")
    # The token went to the API in a POST body, never to the site's files (the site and the API share the edge's
    # origin; the API is its /api/ paths), nor in any URL.
    site_requests = [r for r in sent if r.url.startswith(stack.web_url) and not r.url.startswith(f"{stack.url}/api/")]
    assert not [r.url for r in site_requests if token in (r.url + (r.post_data or ""))]
    assert not [r.url for r in sent if token in r.url]
    confirms = [r.post_data or "" for r in sent if r.method == "POST" and "/password-reset/confirm" in r.url]
    assert [token in body for body in confirms] == [True]  # one call: the mismatch was caught in the page

    sign_in(page, email, PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")
    sign_in(page, email, NEW_PASSWORD)
    expect(page.locator("#account")).to_contain_text(email)
    page.get_by_role("button", name="Sign out").click()

    # The link works once: opened again it says so and offers a new one.
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("yet another password")
    page.get_by_label("Repeat the new password").fill("yet another password")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("alert")).to_have_text("The password reset token is not valid or has expired.")
    expect(page.get_by_role("button", name="Set new password")).to_be_disabled()
    page.screenshot(path=str(screenshots_dir(tmp_path) / "reset-password-used.png"), full_page=True)
    page.get_by_role("link", name="Ask for a new link").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
