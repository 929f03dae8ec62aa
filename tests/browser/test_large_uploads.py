"""Issue 12 in the browser, on a phone (375x812, touch) and a desktop (1440x900) viewport.

- A 40 MiB JPEG (derived from a fixture at test time) goes up as a multipart upload with progress; some of its
  part uploads are forcibly cut off, the page is reloaded mid-upload, and it resumes from the parts the store
  holds (the file kept in IndexedDB) and becomes ready.
- The visibility is chosen before upload (anonymous: unlisted); failed rows can be dismissed; a batch's links and
  delete tokens survive a reload and copy at once; phone texts speak of tapping, with tap targets >= 44 px.
- An iPhone HEIC becomes ready and chromium renders its display rendition.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from scripts.stack import Stack
from tests.browser.conftest import PageProblems
from tests.browser.support import PROCESSING_TIMEOUT_MS, api_call, screenshots_dir
from tests.conftest import FIXTURES, make_jpeg
from tests.large_files import MIB, make_large_jpeg

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "phone": {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1440, "height": 900}},
}
PART_URL = re.compile(r"/originals/[\w-]+\?.*partNumber=(\d+)")


@pytest.fixture(params=sorted(VIEWPORTS))
def device(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page(browser: Browser, stack: Stack, device: str) -> Iterator[Page]:
    dead = stack.check_alive()
    assert dead is None, f"{dead.name} died:\n{dead.tail()}" if dead else ""
    context = browser.new_context(base_url=stack.web_url, **VIEWPORTS[device])  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    problems = PageProblems()
    opened = context.new_page()
    opened.on("console", problems.on_console)
    opened.on("pageerror", problems.on_page_error)
    try:
        yield opened
    finally:
        context.close()
    assert problems.errors == [], f"uncaught errors in the page: {problems.errors}"
    assert problems.csp_violations == [], f"CSP violations: {problems.csp_violations}"


@pytest.fixture(scope="module")
def forty_mib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "big-photo.jpg"
    path.write_bytes(make_large_jpeg(40 * MIB))
    return path


def test_forty_mib_jpeg_uploads_in_parts_survives_a_cut_and_a_reload_and_becomes_ready(
    page: Page, stack: Stack, forty_mib: Path, device: str, tmp_path: Path
) -> None:
    # Parts 3 and up are cut off at the network level until the page reloads: 1 and 2 get through.
    cut: list[str] = []

    def cut_off(route: Route) -> None:
        match = PART_URL.search(route.request.url)
        if route.request.method == "PUT" and match and int(match.group(1)) >= 3:
            cut.append(match.group(1))
            route.abort("connectionreset")
        else:
            route.continue_()

    page.context.route(PART_URL, cut_off)
    page.goto("/")
    page.set_input_files("#file-input", str(forty_mib))
    row = page.locator(".upload-item").first
    expect(row.locator(".upload-status")).to_contain_text("2 done", timeout=PROCESSING_TIMEOUT_MS)
    assert cut, "no part was cut off"
    assert int(row.locator("progress").get_attribute("value") or 0) > 0
    page.screenshot(path=str(screenshots_dir(tmp_path) / f"multipart-{device}-cut.png"), full_page=True)

    page.context.unroute(PART_URL, cut_off)
    page.reload()
    row = page.locator(".upload-item").first
    expect(row).to_have_attribute("data-state", "ready", timeout=PROCESSING_TIMEOUT_MS * 4)
    image_id = page.evaluate("() => JSON.parse(localStorage.getItem('chitram.uploads'))[0].id")
    status, meta = api_call(stack, "GET", f"/api/v1/images/{image_id}")
    assert status == 200
    assert meta["status"] == "ready"
    assert meta["file_size"] > 0
    # Nothing left to resume: the file is gone from IndexedDB once the upload completed.
    pending = page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open("chitram", 1);
            open.onsuccess = () => {
                const request = open.result.transaction("pending-uploads").objectStore("pending-uploads").getAll();
                request.onsuccess = () => resolve(request.result.length);
            };
        })"""
    )
    assert pending == 0


def test_visibility_is_chosen_at_upload_and_anonymous_may_choose_unlisted(
    page: Page, stack: Stack, tmp_path: Path
) -> None:
    photo = tmp_path / "quiet.jpg"
    photo.write_bytes(make_jpeg(320, 200))
    page.goto("/")
    select = page.locator("#upload-visibility")
    expect(select.locator('option[value="private"]')).to_be_disabled()
    select.select_option("unlisted")
    page.set_input_files("#file-input", str(photo))
    expect(page).to_have_url(re.compile(r"/image\.html\?id="), timeout=PROCESSING_TIMEOUT_MS)
    image_id = page.url.rsplit("=", 1)[1]
    status, meta = api_call(stack, "GET", f"/api/v1/images/{image_id}")
    assert (status, meta["visibility"]) == (200, "unlisted")


def test_failed_rows_can_be_dismissed(page: Page, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not an image")
    page.goto("/")
    page.set_input_files("#file-input", str(bogus))
    row = page.locator(".upload-item").first
    expect(row).to_have_attribute("data-state", "failed")
    row.get_by_role("button", name=re.compile("Dismiss")).click()
    expect(page.locator(".upload-item")).to_have_count(0)


def test_a_batch_and_its_delete_tokens_survive_a_reload_and_copy_at_once(page: Page, tmp_path: Path) -> None:
    files = []
    for n in range(2):
        path = tmp_path / f"batch-{n}.jpg"
        path.write_bytes(make_jpeg(300 + n, 200))
        files.append(str(path))
    page.goto("/")
    page.set_input_files("#file-input", files)
    expect(page.locator('.upload-item[data-state="ready"]')).to_have_count(2, timeout=PROCESSING_TIMEOUT_MS)
    page.reload()
    batch = page.locator("#last-batch")
    expect(batch).to_be_visible()
    expect(batch.locator("li")).to_have_count(2)
    expect(batch.locator(".batch-token")).to_have_count(2)
    batch.get_by_role("button", name=re.compile("Copy all")).click()
    # The page records what it copied once the clipboard call has settled (asynchronously): wait for it.
    expect(page.locator("body")).to_have_attribute("data-copied", re.compile("batch-0.jpg"))
    copied = page.evaluate("() => document.body.dataset.copied")
    assert "batch-0.jpg" in copied
    assert "batch-1.jpg" in copied
    assert copied.count("delete token: ") == 2


def test_texts_fit_the_device_and_tap_targets_are_large_enough(page: Page, device: str, tmp_path: Path) -> None:
    page.goto("/")
    text = page.locator("main").inner_text()
    if device == "phone":
        assert "drag" not in text.lower()
        assert "ctrl" not in text.lower()
        expect(page.locator("#dropzone-title")).to_contain_text("Tap")
    else:
        expect(page.locator("#dropzone-title")).to_contain_text("Drag")
    bogus = tmp_path / "x.txt"
    bogus.write_text("x")
    page.set_input_files("#file-input", str(bogus))
    targets = page.locator("main button:visible, main select:visible, #dropzone")
    assert targets.count() >= 3
    for index in range(targets.count()):
        box = targets.nth(index).bounding_box()
        assert box is not None
        assert box["height"] >= 44, (targets.nth(index).inner_text(), box)
        assert box["width"] >= 44, (targets.nth(index).inner_text(), box)
    page.screenshot(path=str(screenshots_dir(tmp_path) / f"upload-{device}.png"), full_page=True)


def test_iphone_heic_uploads_and_chromium_renders_its_display_rendition(page: Page, stack: Stack) -> None:
    page.goto("/")
    page.set_input_files("#file-input", str(FIXTURES / "IMG_5195.HEIC"))
    expect(page).to_have_url(re.compile(r"/image\.html\?id="), timeout=PROCESSING_TIMEOUT_MS * 2)
    image_id = page.url.rsplit("=", 1)[1]
    status, meta = api_call(stack, "GET", f"/api/v1/images/{image_id}")
    assert (status, meta["status"], meta["width"], meta["height"]) == (200, "ready", 2566, 3313)
    size = page.evaluate(
        """async (src) => {
            const img = new Image();
            img.src = src;
            await img.decode();
            return [img.naturalWidth, img.naturalHeight];
        }""",
        f"{stack.api_url}/api/v1/images/{image_id}/file",
    )
    assert size[1] > size[0]
    assert max(size) <= 2560
