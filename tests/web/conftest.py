"""Fixtures for the seller page tests: real apps over a filled store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from seller_data import make_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that drive Chromium carry the `browser` mark, so the inner loop can skip them."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium (Debian package chromium) driven by Playwright."""
    playwright_sync = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (Debian package chromium)")
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def seller_app(tmp_path: Path) -> FastAPI:
    return make_app(tmp_path / "api.db")


@pytest.fixture(scope="module")
def shared_seller_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """One filled app per module, for tests that only read."""
    return make_app(tmp_path_factory.mktemp("seller") / "api.db")
