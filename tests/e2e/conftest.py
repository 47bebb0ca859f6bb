"""Fixtures for end-to-end tests: a real Chromium and real notebook processes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.harness.browser import CHROMIUM_ARGS, chromium_path
from tests.harness.processes import REPO_ROOT, ServerProcess, run_server


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    # Package scope, not session: Playwright's sync API keeps an event loop running in the
    # main thread while it lives, which would break every later test that calls asyncio.run.
    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture
def marimo_app() -> Callable[..., AbstractContextManager[ServerProcess]]:
    """Start ``marimo run notebooks/<name>`` on a free port, against the given env."""

    def start(notebook: str, env: dict[str, str]) -> AbstractContextManager[ServerProcess]:
        return run_server(
            [sys.executable, "-m", "marimo", "run", str(REPO_ROOT / "notebooks" / notebook),
             "--headless", "--no-token", "--host", "127.0.0.1", "--port", "{port}"],
            ready_path="/",
            env={"WALLTRACK_LOG_FORMAT": "json", **env},
            timeout=90,
        )

    return start
