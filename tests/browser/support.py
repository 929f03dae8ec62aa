"""Helpers the browser tests share: direct API calls (set-up and checks behind the page) and page probes."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Page, expect

from scripts.stack import Stack

PASSWORD = "correct horse battery"

# Upload → bucket → queue → worker → ready takes about a second here; leave room for a loaded CI machine.
PROCESSING_TIMEOUT_MS = 30_000


def api_call(stack: Stack, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """A direct API call (outside the browser), for set-up and for checking what the page did."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(stack.api_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def upload_via_api(stack: Stack, data: bytes, filename: str, token: str | None = None) -> str:
    """Upload as a script would (upload-url, then the POST to the bucket) and wait until processed; the id.

    With ``token`` the upload belongs to that user, and was made outside any browser.
    """
    status, ticket = api_call(
        stack,
        "POST",
        "/api/v1/images/upload-url",
        {"filename": filename, "content_type": "image/jpeg", "size": len(data)},
        token=token,
    )
    assert status == 201, ticket
    form = ticket["upload"]
    posted = requests.post(form["url"], data=form["fields"], files={"file": (filename, data, "image/jpeg")}, timeout=30)
    assert posted.status_code in (200, 201, 204), posted.text
    deadline = time.monotonic() + PROCESSING_TIMEOUT_MS / 1000
    while True:
        status, body = api_call(stack, "GET", f"/api/v1/images/{ticket['id']}", token=token)
        if body["status"] != "pending":
            assert body["status"] == "ready", body
            return str(ticket["id"])
        assert time.monotonic() < deadline, f"{ticket['id']} still pending"
        time.sleep(0.2)


def dimensions(width: int, height: int) -> str:
    """How the pages write an image's size."""
    return f"{width} \N{MULTIPLICATION SIGN} {height} px"


def image_id_from(page: Page) -> str:
    return page.url.split("id=", 1)[1].split("&", 1)[0]


def wait_for_loaded_image(page: Page, selector: str) -> tuple[int, int]:
    """The natural size of an <img> once it has really decoded (the pages set data-loaded on load)."""
    image = page.locator(f"{selector}[data-loaded]")
    image.wait_for(timeout=PROCESSING_TIMEOUT_MS)
    width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    return int(width), int(height)


def screenshots_dir(tmp_path: Path) -> Path:
    target = tmp_path / "screenshots"
    target.mkdir(exist_ok=True)
    return target


# --- accounts ------------------------------------------------------------------------------------


def new_email() -> str:
    return f"browser-{uuid.uuid4().hex[:12]}@example.com"


def register(page: Page, email: str, password: str = PASSWORD) -> None:
    """Register through the site; ends signed in on My images."""
    page.goto("/register.html")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/mine\.html$"))


def sign_in(page: Page, email: str, password: str) -> None:
    """Fill and send the sign-in form (the caller checks the outcome)."""
    page.goto("/signin.html")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def session_token(page: Page) -> str:
    return str(page.evaluate("JSON.parse(localStorage.getItem('chitram.session')).token"))


def wait_for_mail(stack: Stack, to: str, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    """The newest message of ``kind`` to ``to`` in the stack's local outbox (one JSON file per message)."""
    outbox = Path(stack.env()["MAIL_OUTBOX_DIR"])
    deadline = time.monotonic() + timeout
    while True:
        messages = [json.loads(path.read_text()) for path in sorted(outbox.glob("*.json"))] if outbox.exists() else []
        matching = [message for message in messages if message["to"] == to and message["kind"] == kind]
        if matching:
            return dict(matching[-1])
        assert time.monotonic() < deadline, f"no {kind} mail to {to} in {outbox}"
        time.sleep(0.1)
