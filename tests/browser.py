"""Headless Chromium for the browser tests (back office, storefront): one copy of the fixtures and helpers.

Debian's ``chromium`` and ``chromium-driver``, which ``make test`` installs when missing
(:mod:`ops.browser`); a machine without them fails the tests, never skips them. A test module uses the
fixtures by importing them: ``from tests.browser import browser, chromium_paths  # noqa: F401``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from ops.browser import ensure_chromium
from ops.paths import VAR, ProvisionError

SCREENSHOTS = VAR / "screenshots"
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1024",
)


@pytest.fixture(scope="module")
def chromium_paths() -> tuple[str, str]:
    try:
        found = ensure_chromium()
    except ProvisionError as exc:
        pytest.fail(str(exc))
    return found.browser, found.driver


@pytest.fixture
def browser(chromium_paths: tuple[str, str]) -> Iterator[WebDriver]:
    """A fresh headless Chromium with a profile of its own, so no cookie or stored token outlives the test."""
    binary, driver_path = chromium_paths
    with tempfile.TemporaryDirectory(prefix="test-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in (*HEADLESS_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()


def screenshot(driver: WebDriver, folder: str, name: str) -> Path:
    """Saves what the browser shows as ``var/screenshots/<folder>/<name>.png``."""
    directory = SCREENSHOTS / folder
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    return path


def gone(element: WebElement) -> bool:
    """True once ``element``'s page was replaced. Selenium's ``staleness_of`` knows only the stale-element
    error; while the page navigates, Chromium may answer "Node with given id does not belong to the
    document" instead, which means the same."""
    try:
        element.is_enabled()
    except WebDriverException:  # StaleElementReferenceException is one of these
        return True
    return False
