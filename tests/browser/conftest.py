"""Browser tier: Python Playwright driving Debian's chromium against the whole local stack.

The session's one stack (the ``stack`` fixture in tests/conftest.py: free ports, the site and the API on one
origin behind the local edge as behind CloudFront on AWS, the upload rate limit lifted since every client is
127.0.0.1), one chromium per session, a fresh browser context per test (no shared localStorage). Playwright's
own browser download is not available here, so chromium is launched from ``/usr/bin/chromium``. If the stack
or the browser cannot start, the tier fails loudly; it is never skipped.

Every test also fails if the page threw an uncaught exception or the browser reported a Content-Security-Policy
violation: the site promises a strict CSP and no inline script.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright

from scripts.stack import Stack

CHROMIUM = os.environ.get("CHITRAM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield launched
    finally:
        launched.close()


@dataclass
class PageProblems:
    """What the browser complained about while a test ran."""

    errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(str(error))


@pytest.fixture
def context(browser: Browser, stack: Stack) -> Iterator[BrowserContext]:
    dead = stack.check_alive()
    assert dead is None, f"{dead.name} died:\n{dead.tail()}" if dead else ""
    fresh = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 900})
    fresh.set_default_timeout(10_000)
    try:
        yield fresh
    finally:
        fresh.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    problems = PageProblems()
    opened = context.new_page()
    opened.on("console", problems.on_console)
    opened.on("pageerror", problems.on_page_error)
    yield opened
    assert problems.errors == [], f"uncaught errors in the page: {problems.errors}"
    assert problems.csp_violations == [], f"CSP violations: {problems.csp_violations}"
