"""Browser tests: the app served by uvicorn on a free loopback port, driven in Debian's Chromium.

The server runs in a background thread (``uvicorn.Server`` on a socket bound here, so the port cannot be
taken in between) on a copy of the web tests' demo database; readiness is polled on ``/health``.
Chromium is ``/usr/bin/chromium`` (``make test`` installs Debian's package when missing), driven by
Playwright without ``playwright install``. Every test here carries the ``browser`` marker
(``pytest -m "not browser"`` skips them).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from dealsight.api.app import create_app
from tests.test_web_fixtures import Demo, web_demo

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: runs in a real Chromium against a live server")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class LiveServer:
    url: str
    demo: Demo


def _wait_until_up(url: str, server: uvicorn.Server, thread: threading.Thread, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the test server stopped while starting")
        if server.started:
            try:
                if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
        time.sleep(0.02)  # polling interval, not a wait for something to happen
    raise RuntimeError(f"the test server at {url} did not answer /health within {timeout:.0f} s")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    demos = web_demo(tmp_path_factory)
    demo = next(demos)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(demo.engine), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server, thread)
        yield LiveServer(url, demo)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        next(demos, None)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def sized_page(chromium: Browser, viewport: dict[str, int]) -> Iterator[Page]:
    """A fresh browser context (no cookies) at ``viewport`` for screenshots (into :data:`SCREENSHOTS`);
    console errors fail the test once the block ends."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport=viewport)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield tab
    finally:
        context.close()
    assert not errors, errors


def overflow(tab: Page) -> int:
    """How many pixels the page is wider than the screen (0 or less: it fits)."""
    wider: int = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    return wider


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) at laptop size; console errors fail the test."""
    context = chromium.new_context(viewport=LAPTOP)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    unexpected = [e for e in errors if "status of 404" not in e and "status of 403" not in e]
    assert not unexpected, f"errors in the browser console: {unexpected}"
