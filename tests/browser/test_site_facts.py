"""The site shows the server's facts (from the generated config.js) and is protected by real response headers."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from chalicelib import catalog, site_headers
from chalicelib.settings import Settings
from chalicelib.site_config import site_config
from scripts.stack import Stack

pytestmark = pytest.mark.browser


def config(stack: Stack) -> dict[str, object]:
    return site_config(Settings.from_env(stack.env()), api_base=stack.api_url)


def test_upload_page_states_the_accepted_formats_and_limit_from_config(page: Page, stack: Stack) -> None:
    response = page.goto("/")
    assert response is not None
    labels = [f.label for f in catalog.accepted_formats()]
    rules = page.locator('[data-config="upload-rules"]')
    expect(rules).to_have_text(f"{', '.join(labels[:-1])} or {labels[-1]}, up to 50.0 MB each.")
    expect(page.locator("#file-input")).to_have_attribute("accept", str(config(stack)["ACCEPT"]))


def test_password_rules_come_from_config(page: Page) -> None:
    page.goto("/register.html")
    expect(page.locator("#password")).to_have_attribute("minlength", str(catalog.PASSWORD_MIN_CHARS))
    expect(page.locator("#password-hint")).to_have_text(f"At least {catalog.PASSWORD_MIN_CHARS} characters.")


def test_pages_carry_the_security_headers(page: Page) -> None:
    response = page.goto("/gallery.html")
    assert response is not None
    headers = response.headers
    for name, value in site_headers.security_headers(https=False).items():
        assert headers[name.lower()] == value


def test_another_site_cannot_frame_the_pages(context: BrowserContext, stack: Stack) -> None:
    # Not the `page` fixture: the refused frame is reported as a CSP violation, which is the point here.
    framing = context.new_page()
    framing.goto(f"{stack.api_url}/health")  # any page of another origin
    framing.evaluate(
        "url => { const f = document.createElement('iframe'); f.src = url; document.body.append(f); }",
        f"{stack.web_url}/signin.html",
    )
    framing.wait_for_timeout(1000)
    framed = [frame for frame in framing.frames if frame != framing.main_frame]
    assert framed
    assert all(frame.locator("#signin-form").count() == 0 for frame in framed)
