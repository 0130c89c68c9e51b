"""Fixtures of the browser tier: a real-UI Stash, a StashDB simulator, and chromium that
may talk to 127.0.0.1 only."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.browser_env import find_chromium, require_or_skip
from tests.e2e.conftest import stashbox_api_key, stashdb  # noqa: F401  (the e2e tier's fixtures)
from tests.e2e.stash_server import find_stash_ui_binary

LOOPBACK_HOSTS = frozenset({"127.0.0.1"})


@pytest.fixture(scope="session")
def stash_ui_binary() -> Path:
    require_or_skip()
    return find_stash_ui_binary()


@pytest.fixture(scope="module")
def browser(stash_ui_binary):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(find_chromium()), headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield launched
        finally:
            launched.close()


class LoopbackOnly:
    """Aborts every request to a host that is not 127.0.0.1, and remembers each one."""

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self.allowed = 0

    def handle(self, route) -> None:
        url = route.request.url
        scheme, host = urlsplit(url).scheme, urlsplit(url).hostname
        if scheme in ("data", "blob") or host in LOOPBACK_HOSTS:
            self.allowed += 1
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()


def open_page(browser, viewport: dict, guard: LoopbackOnly):
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(20_000)
    context.route("**/*", guard.handle)
    return context, context.new_page()
