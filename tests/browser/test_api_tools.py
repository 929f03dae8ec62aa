"""The site's pages for programs: the API reference (/docs), API tokens, screenshot tools, deletion confirmation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests
from chitram_cli import sharex
from playwright.sync_api import ConsoleMessage, Page, expect

from scripts.stack import Stack
from tests.browser.support import api_call, new_email, register, session_token, upload_via_api
from tests.conftest import make_jpeg

pytestmark = pytest.mark.browser


@pytest.fixture
def console_errors(page: Page) -> Iterator[list[str]]:
    """Every console error (the page fixture already fails on CSP violations and uncaught exceptions)."""
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", record)
    yield errors
    assert errors == [], f"console errors: {errors}"


def test_docs_renders_the_api_reference_and_tries_a_route_on_this_deployment(
    page: Page, stack: Stack, console_errors: list[str]
) -> None:
    document = requests.get(f"{stack.api_url}/api/v1/openapi.json", timeout=30).json()
    operations = sum(
        1 for item in document["paths"].values() for method in item if method in {"get", "post", "patch", "delete"}
    )

    page.goto("/docs")

    expect(page.locator("body[data-docs-ready]")).to_have_count(1)
    expect(page.locator(".opblock")).to_have_count(operations)
    expect(page.locator(".servers")).to_contain_text(stack.api_url)
    # "Try it out" against this deployment: GET /health answers from the stack's API.
    health = page.locator(".opblock-get", has=page.locator("[data-path='/health']"))
    health.locator(".opblock-summary").click()
    health.get_by_role("button", name="Try it out").click()
    health.get_by_role("button", name="Execute").click()
    expect(health.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("200")
    expect(health.locator(".request-url")).to_contain_text(f"{stack.api_url}/health")
    # Copy-paste examples name this deployment.
    page.get_by_text("Copy-paste examples").click()
    expect(page.locator("#examples")).to_contain_text(f"curl -F file=@photo.jpg {stack.api_url}/api/v1/images/upload")
    expect(page.locator("#examples")).to_contain_text("chitram upload")


def test_tokens_page_shows_the_secret_once_lists_and_revokes(page: Page, stack: Stack) -> None:
    register(page, new_email())
    page.goto("/tokens.html")
    page.get_by_label("Name").fill("backup script")
    page.get_by_label("Scope").select_option("read")
    page.get_by_label("Expires after").fill("30")
    page.get_by_role("button", name="Create token").click()

    secret = page.locator("#new-token input").input_value()
    assert re.fullmatch(r"chi_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", secret)
    row = page.locator("#token-list li", has_text="backup script")
    expect(row).to_contain_text("scope read")
    expect(row).to_contain_text("last used never")
    status, profile = api_call(stack, "GET", "/api/v1/auth/me", token=secret)
    assert status == 200, profile
    page.reload()
    expect(page.locator("#new-token")).to_be_hidden()  # shown once
    expect(page.locator("#token-list li", has_text="backup script")).not_to_contain_text("last used never")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke backup script").click()
    expect(page.locator("#token-list li", has_text="backup script")).to_have_count(0)
    assert api_call(stack, "GET", "/api/v1/auth/me", token=secret)[0] == 401


def test_tools_page_makes_the_same_sxcu_as_the_cli_and_it_uploads(page: Page, stack: Stack) -> None:
    register(page, new_email())
    page.goto("/tools.html")
    page.get_by_label("Visibility of the uploads").select_option("unlisted")
    page.get_by_role("button", name="Make token and uploaders").click()
    expect(page.locator("#downloads")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="ShareX uploader (.sxcu)").click()
    text = download.value.path().read_text()
    document = json.loads(text)
    token = document["Headers"]["Authorization"].removeprefix("Bearer ")
    assert text == sharex.sxcu_text(stack.api_url, stack.web_url, token, "unlisted")
    with page.expect_download() as script:
        page.get_by_role("link", name="Flameshot / curl script").click()
    assert script.value.path().read_text() == sharex.flameshot_script(stack.api_url, stack.web_url, token, "unlisted")
    status, profile = api_call(stack, "GET", "/api/v1/auth/me", token=token)
    assert status == 200
    assert profile["api_token"]["scope"] == "upload"


def test_deletion_page_never_deletes_on_load_and_deletes_on_confirm(page: Page, stack: Stack) -> None:
    register(page, new_email())
    owner = session_token(page)
    image_id = upload_via_api(stack, make_jpeg(300, 200), "shot.jpg", token=owner)
    page.evaluate("localStorage.clear()")  # a visitor who is not the owner

    page.goto(f"/delete.html?id={image_id}")
    expect(page.locator("#delete-status")).to_contain_text("Sign in as its owner")
    assert api_call(stack, "GET", f"/api/v1/images/{image_id}")[0] == 200

    page.locator("#delete-status").get_by_role("link", name="Sign in as its owner").click()
    expect(page).to_have_url(re.compile(r"signin\.html"))
    page.evaluate("token => localStorage.setItem('chitram.session', JSON.stringify({token, user: null}))", owner)
    page.goto(f"/delete.html?id={image_id}")
    expect(page.locator("#delete-status")).to_have_text("You own this image.")
    assert api_call(stack, "GET", f"/api/v1/images/{image_id}")[0] == 200
    page.get_by_role("button", name="Delete this image for good").click()
    expect(page.locator("#delete-status")).to_have_text('Deleted "shot.jpg".')
    assert api_call(stack, "GET", f"/api/v1/images/{image_id}")[0] == 404


def test_deletion_page_takes_an_anonymous_uploads_token_from_the_fragment(page: Page, stack: Stack) -> None:
    data = make_jpeg(200, 150)
    status, ticket = api_call(
        stack,
        "POST",
        "/api/v1/images/upload-url",
        {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data)},
    )
    assert status == 201
    form = ticket["upload"]
    requests.post(form["url"], data=form["fields"], files={"file": ("a.jpg", data, "image/jpeg")}, timeout=30)

    page.goto(f"/delete.html?id={ticket['id']}#token={ticket['delete_token']}")
    expect(page).not_to_have_url(re.compile("token="))  # the secret leaves the address bar
    page.get_by_role("button", name="Delete this image for good").click()
    expect(page.locator("#delete-status")).to_have_text('Deleted "a.jpg".')
    assert api_call(stack, "GET", f"/api/v1/images/{ticket['id']}")[0] == 404
