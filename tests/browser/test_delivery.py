"""Delivery in a real browser: embedding from another origin, the sharing panel's snippets, the gallery's layout.

- A page on another origin embeds the direct link in ``<img>`` and it loads (no cookies, no CORS needed).
- Each sharing snippet (HTML, Markdown rendered as the HTML it stands for, BBCode's image) pasted into a page
  renders at a sensible size: the 600 px rendition, not the original's pixel size; copy buttons confirm.
- The gallery's cumulative layout shift (PerformanceObserver ``layout-shift``) stays below 0.1 at 375x812 and
  1440x900 while its tiles load.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from playwright.sync_api import Browser, Page, expect

from scripts.stack import Stack
from tests.browser.support import PROCESSING_TIMEOUT_MS, api_call, upload_via_api
from tests.conftest import make_jpeg

pytestmark = pytest.mark.browser


class OtherSite(BaseHTTPRequestHandler):
    """Another origin (another port on loopback: Chromium's local network access rules keep a page served from
    anywhere else from loading 127.0.0.1 at all). Serves whatever page the test put in ``pages``."""

    pages: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        body = self.pages.get(self.path, "").encode()
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def other_origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), OtherSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def serve_page(page: Page, origin: str, html: str) -> None:
    """Open ``html`` as a page of the other origin."""
    path = f"/thread-{len(OtherSite.pages)}.html"
    OtherSite.pages[path] = html
    page.goto(origin + path)


def public_image(stack: Stack, width: int = 2400, height: int = 1600) -> dict[str, object]:
    image_id = upload_via_api(stack, make_jpeg(width, height), "wide.jpg")
    status, body = api_call(stack, "GET", f"/api/v1/images/{image_id}")
    assert status == 200
    return dict(body)


def natural_and_shown(page: Page, selector: str) -> tuple[int, int, float]:
    locator = page.locator(selector)
    expect(locator).to_have_js_property("complete", True, timeout=PROCESSING_TIMEOUT_MS)
    script = "img => [img.naturalWidth, img.naturalHeight, img.getBoundingClientRect().width]"
    width, height, shown = locator.evaluate(script)
    return int(width), int(height), float(shown)


def test_another_origin_embeds_the_direct_link(page: Page, stack: Stack, other_origin: str) -> None:
    image = public_image(stack)
    links = image["links"]
    assert isinstance(links, dict)
    html = f'<!doctype html><p>look:</p><img id="direct" src="{links["direct"]}" alt="hotlinked">'
    serve_page(page, other_origin, html)
    width, height, _ = natural_and_shown(page, "#direct")
    assert (width, height) == (2400, 1600)  # it really decoded


def test_sharing_snippets_render_at_a_sensible_size(browser: Browser, stack: Stack, other_origin: str) -> None:
    image = public_image(stack)
    context = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        page.goto(f"/image.html?id={image['id']}")
        snippets = {name: page.get_by_label(name, exact=True).input_value() for name in ("HTML", "Markdown", "BBCode")}
        copy = page.get_by_role("button", name="Copy HTML")
        copy.click()
        expect(copy).to_have_text("Copied ✓")
        assert page.evaluate("navigator.clipboard.readText()") == snippets["HTML"]

        # What each snippet becomes once pasted: HTML as is; Markdown and BBCode as the <img> they render to.
        markdown = re.fullmatch(r"\[!\[(.*)\]\((.+)\)\]\((.+)\)", snippets["Markdown"])
        bbcode = re.fullmatch(r"\[url=(.+)\]\[img\](.+)\[/img\]\[/url\]", snippets["BBCode"])
        assert markdown
        assert bbcode
        rendered = (
            f'<div id="html">{snippets["HTML"]}</div>'
            f'<div id="md"><a href="{markdown[3]}"><img src="{markdown[2]}" alt="{markdown[1]}"></a></div>'
            f'<div id="bb"><a href="{bbcode[1]}"><img src="{bbcode[2]}"></a></div>'
        )
        other = context.new_page()
        serve_page(other, other_origin, f"<!doctype html><body>{rendered}</body>")
        for selector in ("#html img", "#md img", "#bb img"):
            width, height, shown = natural_and_shown(other, selector)
            assert max(width, height) == 600, selector  # the 600 px rendition, not 2400 px
            assert shown <= 600, selector
        assert other.locator("#html img").get_attribute("width") == "600"
        assert other.locator("#html a").get_attribute("href") == image["links"]["page"]  # type: ignore[index]
    finally:
        context.close()


@pytest.mark.parametrize(("width", "height"), [(375, 812), (1440, 900)])
def test_gallery_layout_shift_stays_below_a_tenth(browser: Browser, stack: Stack, width: int, height: int) -> None:
    for _ in range(3):
        public_image(stack, 1200, 800)
    context = browser.new_context(base_url=stack.url, viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.add_init_script(
            """
            window.__cls = 0;
            new PerformanceObserver((list) => {
              for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cls += entry.value;
            }).observe({ type: "layout-shift", buffered: true });
            """
        )
        page.goto("/gallery.html")
        tiles = page.locator("a.tile img[data-loaded]")
        expect(tiles.first).to_be_visible(timeout=PROCESSING_TIMEOUT_MS)
        page.wait_for_load_state("networkidle")
        cls = float(page.evaluate("window.__cls"))
        assert cls < 0.1, cls
        src = page.locator("a.tile img").first.get_attribute("src") or ""
        assert "/i/" in src  # tiles come from the CDN's renditions, not the API
    finally:
        context.close()


def test_copy_all_links_of_a_batch(browser: Browser, stack: Stack, tmp_path: Path) -> None:
    files = []
    for n in range(2):
        path = tmp_path / f"batch-{n}.jpg"
        path.write_bytes(make_jpeg(400 + n, 300))
        files.append(str(path))
    context = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        page.goto("/")
        page.set_input_files("#file-input", files)
        expect(page.locator("#uploads-summary")).to_have_text("2 ready", timeout=PROCESSING_TIMEOUT_MS)
        button = page.get_by_role("button", name="Copy all links")
        button.click()
        expect(button).to_have_text("Copied ✓")
        lines = str(page.evaluate("navigator.clipboard.readText()")).splitlines()
        assert len(lines) == 2
        for line in lines:
            assert re.fullmatch(re.escape(stack.url) + r"/i/[A-Za-z0-9_-]{11}\.jpg", line), line
        expect(button).to_have_text("Copy all links", timeout=5000)
    finally:
        context.close()
