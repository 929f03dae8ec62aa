"""Helpers the browser tests share: direct API calls (set-up and checks behind the page) and page probes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Page

from scripts.stack import Stack

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


def upload_via_api(stack: Stack, data: bytes, filename: str) -> str:
    """Upload as a script would (upload-url, then the POST to the bucket) and wait until processed; the id."""
    status, ticket = api_call(
        stack,
        "POST",
        "/api/v1/images/upload-url",
        {"filename": filename, "content_type": "image/jpeg", "size": len(data)},
    )
    assert status == 201, ticket
    form = ticket["upload"]
    posted = requests.post(form["url"], data=form["fields"], files={"file": (filename, data, "image/jpeg")}, timeout=30)
    assert posted.status_code in (200, 201, 204), posted.text
    deadline = time.monotonic() + PROCESSING_TIMEOUT_MS / 1000
    while True:
        status, body = api_call(stack, "GET", f"/api/v1/images/{ticket['id']}")
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
